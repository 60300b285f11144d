import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Browser, FileChooser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  composer,
  launchBrowser,
  messageBubble,
  openAs,
  openConversation,
  pageErrors,
  registerUser,
  screenshot,
  tag,
  waitForStatus,
  waitForStatusAtLeast,
} from './support/browser';
import { restSend } from './support/rest';

const apiUrl = inject('apiUrl');
const appUrl = inject('appUrl');

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const pdf = (size: number) => Buffer.concat([Buffer.from('%PDF-1.4\n%e2e\n'), randomBytes(size)]);
/** A real PNG, drawn by the browser's own canvas. */
async function png(page: Page, w: number, h: number): Promise<Buffer> {
  const bytes = await page.evaluate(
    async ([width, height]) => {
      const canvas = new OffscreenCanvas(width, height);
      const ctx = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
      ctx.fillStyle = '#1e78c8';
      ctx.fillRect(0, 0, width, height);
      ctx.fillStyle = '#fff';
      ctx.fillRect(width / 4, height / 4, width / 2, height / 2);
      const blob = await canvas.convertToBlob({ type: 'image/png' });
      return [...new Uint8Array(await blob.arrayBuffer())];
    },
    [w, h] as const,
  );
  return Buffer.from(bytes);
}

/**
 * File choosers the page opens. Registered before anything is clicked: Playwright turns on
 * Chromium's file-chooser interception when the first listener is added, asynchronously, and a
 * picker opened before that is a native dialog that never becomes an event (a CI flake).
 */
function recordChoosers(page: Page): FileChooser[] {
  const choosers: FileChooser[] = [];
  page.on('filechooser', (c) => choosers.push(c));
  return choosers;
}

async function nextChooser(choosers: FileChooser[], count: number): Promise<FileChooser> {
  await expect.poll(() => choosers.length, { timeout: 10_000 }).toBe(count);
  return choosers[count - 1] as FileChooser;
}

/** Every tus request the page makes that the server answered (a request the offline browser refused is not counted). */
function recordUploads(page: Page) {
  const answered: { method: string; url: string; status: number }[] = [];
  page.on('requestfinished', async (req: Request) => {
    if (!req.url().includes('/api/files/uploads')) return;
    const res = await req.response();
    if (res) answered.push({ method: req.method(), url: req.url(), status: res.status() });
  });
  return answered;
}

describe('files in messages', () => {
  it('two files attached offline survive a reload, upload exactly once when back online; the recipient sees the thumbnail (offline too, after a reload) and downloads the file', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    await restSend(apiUrl, bob, alice, `Send me the designs ${t}`);
    const a = await openAs(browser, appUrl, alice, { network: true });
    const b = await openAs(browser, appUrl, bob, { network: true });
    const net = a.net as NonNullable<typeof a.net>;
    try {
      const uploads = recordUploads(a.page);
      const choosers = recordChoosers(a.page);
      await openConversation(a.page, bob.name);
      await openConversation(b.page, alice.name);
      await a.page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));

      await net.goOffline();
      const image = await png(a.page, 1600, 1000);
      const brief = pdf(4 * 1024 * 1024);
      await a.page.getByRole('button', { name: 'Attach files' }).click();
      await (await nextChooser(choosers, 1)).setFiles([
        { name: 'mockup.png', mimeType: 'image/png', buffer: image },
        { name: 'brief final.pdf', mimeType: 'application/pdf', buffer: brief },
      ]);
      await a.page.getByRole('list', { name: 'Files to send' }).getByText('brief final.pdf').waitFor();
      const caption = `Designs attached ${t}`;
      await composer(a.page).fill(caption);
      await composer(a.page).press('Enter');
      const bubble = messageBubble(a.page, caption);
      await waitForStatus(bubble, 'pending');
      await bubble.locator('.attachment-thumb').waitFor();
      await bubble.getByText('Waiting to upload').first().waitFor();

      await a.page.reload();
      await openConversation(a.page, bob.name);
      const reloaded = messageBubble(a.page, caption);
      await waitForStatus(reloaded, 'pending');
      await reloaded.getByText('brief final.pdf').waitFor();
      await screenshot(a.page, 'files-queued-offline');
      expect(uploads).toEqual([]);

      await net.goOnline();
      await waitForStatusAtLeast(reloaded, 'sent');
      const creations = uploads.filter((u) => u.method === 'POST');
      expect(creations.map((u) => u.status)).toEqual([201, 201]);
      expect(uploads.every((u) => u.status < 300)).toBe(true);

      const received = messageBubble(b.page, caption);
      await received.waitFor();
      expect(await b.page.locator('.message', { hasText: caption }).count()).toBe(1);
      const thumb = received.locator('img.attachment-thumb');
      await thumb.waitFor();
      await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
      await screenshot(b.page, 'files-received');

      const download = b.page.waitForEvent('download');
      await received.getByRole('button', { name: /^Download brief final\.pdf/ }).click();
      const file = await download;
      expect(file.suggestedFilename()).toBe('brief final.pdf');
      expect(sha(readFileSync(await file.path()))).toBe(sha(brief));

      // Once synced, the preview is on the device: it shows after a reload with no network.
      await b.page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      await (b.net as NonNullable<typeof b.net>).goOffline();
      await b.page.reload();
      await openConversation(b.page, alice.name);
      const offlineThumb = messageBubble(b.page, caption).locator('img.attachment-thumb');
      await offlineThumb.waitFor();
      await expect.poll(() => offlineThumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
      expect(pageErrors(a.page)).toEqual([]);
      expect(pageErrors(b.page)).toEqual([]);
    } finally {
      await a.context.close();
      await b.context.close();
    }
  });

  it('drag and drop, a pasted image and the keyboard alone attach and remove files', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    await restSend(apiUrl, bob, alice, `Hello ${t}`);
    const a = await openAs(browser, appUrl, alice);
    const b = await openAs(browser, appUrl, bob);
    try {
      const choosers = recordChoosers(a.page);
      await openConversation(a.page, bob.name);
      await openConversation(b.page, alice.name);
      const chips = a.page.getByRole('list', { name: 'Files to send' });

      // Drop a text file onto the conversation.
      const dropped = await a.page.evaluateHandle((text) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], 'notes.txt', { type: 'text/plain' }));
        return dt;
      }, `meeting notes ${t}`);
      await a.page.locator('.pane').dispatchEvent('dragover', { dataTransfer: dropped });
      await a.page.locator('.pane').dispatchEvent('drop', { dataTransfer: dropped });
      await chips.getByText('notes.txt').waitFor();

      // Paste an image from the clipboard into the composer.
      const pastedPng = [...(await png(a.page, 300, 200))];
      await composer(a.page).evaluate((el, bytes) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], 'image.png', { type: 'image/png' }));
        el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
      }, pastedPng);
      await chips.getByText('image.png').waitFor();

      // Keyboard only: Tab to "Attach files", Enter opens the picker; Tab to a chip's remove button, Enter removes it.
      await composer(a.page).focus();
      await a.page.keyboard.press('Shift+Tab');
      await expect.poll(() => a.page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Attach files');
      await a.page.keyboard.press('Enter');
      await (await nextChooser(choosers, 1)).setFiles([{ name: 'extra.pdf', mimeType: 'application/pdf', buffer: pdf(2000) }]);
      await chips.getByText('extra.pdf').waitFor();
      await chips.getByRole('button', { name: 'Remove extra.pdf' }).focus();
      await a.page.keyboard.press('Enter');
      await chips.getByText('extra.pdf').waitFor({ state: 'detached' });
      expect(await chips.getByRole('listitem').count()).toBe(2);

      const caption = `Notes and a screenshot ${t}`;
      await composer(a.page).fill(caption);
      await composer(a.page).press('Enter');
      const bubble = messageBubble(a.page, caption);
      await waitForStatusAtLeast(bubble, 'sent');
      const received = messageBubble(b.page, caption);
      await received.getByText('notes.txt').waitFor();
      await received.locator('img.attachment-thumb').waitFor();
      expect(await received.getByText('extra.pdf').count()).toBe(0);
      expect(pageErrors(a.page)).toEqual([]);
    } finally {
      await a.context.close();
      await b.context.close();
    }
  });
});
