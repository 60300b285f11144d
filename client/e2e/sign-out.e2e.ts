import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  collectConsoleErrors,
  composer,
  conversationRow,
  inboxReady,
  launchBrowser,
  messageBubble,
  newContext,
  openAs,
  openConversation,
  pageErrors,
  registerUser,
  screenshot,
  send,
  signIn,
  type TestUser,
  tag,
  waitForStatus,
  waitForStatusAtLeast,
} from './support/browser';
import { rest, restSend } from './support/rest';

const apiUrl = inject('apiUrl');
const appUrl = inject('appUrl');

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** Every IndexedDB database of the page's origin, as the page lists them. */
function databases(page: Page): Promise<string[]> {
  return page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? ''));
}

/** The user's databases: every name the app gives their data holds their id (lower case). */
async function databasesOf(page: Page, user: TestUser): Promise<string[]> {
  return (await databases(page)).filter((n) => n.includes(user.id.toLowerCase()));
}

/** Everything in the page's localStorage and sessionStorage, keys and values. */
function webStorage(page: Page): Promise<string> {
  return page.evaluate(() => {
    const dump = (s: Storage) =>
      Object.fromEntries(Array.from({ length: s.length }, (_, i) => s.key(i) as string).map((k) => [k, s.getItem(k)]));
    return JSON.stringify({ local: dump(localStorage), session: dump(sessionStorage) });
  });
}

/** Nothing that names or identifies the user: id, email, name, token. */
function traces(text: string, user: TestUser): string[] {
  return [user.id, user.id.toLowerCase(), user.email, user.name, user.token].filter((s) => text.includes(s));
}

function cacheNames(page: Page): Promise<string[]> {
  return page.evaluate(() => caches.keys());
}

async function signedOut(page: Page): Promise<void> {
  await page.getByLabel('Email').waitFor();
}

describe('sign-out forgets the device', () => {
  it('warns about unsent messages and files (Escape and cancel keep everything), then deletes every database and key of the user; the next user sees nothing of them', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    const carol = await registerUser(apiUrl, `Carol ${t}`);
    const conversationId = await restSend(apiUrl, bob, alice, `A private note for Alice ${t}`);
    // Kept on the device: the case where everything would otherwise stay.
    const a = await openAs(browser, appUrl, alice, { network: true, keep: true });
    const net = a.net as NonNullable<typeof a.net>;
    const page = a.page;
    try {
      await openConversation(page, bob.name);
      await waitForStatusAtLeast(await send(page, `Answered online ${t}`), 'sent');

      await net.goOffline();
      await waitForStatus(await send(page, `Typed offline ${t}`), 'pending');
      const chooser = page.waitForEvent('filechooser');
      await page.getByRole('button', { name: 'Attach files' }).click();
      await (await chooser).setFiles([
        { name: 'contract.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n%e2e sign-out\n') },
      ]);
      await page.getByRole('list', { name: 'Files to send' }).getByText('contract.pdf').waitFor();
      await composer(page).fill(`The contract ${t}`);
      await composer(page).press('Enter');
      await waitForStatus(messageBubble(page, `The contract ${t}`), 'pending');

      const before = await databasesOf(page, alice);
      expect(before.some((n) => n.endsWith('-files'))).toBe(true);
      expect(before.some((n) => n.includes('--messages'))).toBe(true);
      expect(traces(await webStorage(page), alice).length).toBeGreaterThan(0);

      // The warning; Escape is Cancel.
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Sign out?' });
      await dialog.waitFor();
      // Polled on the text itself, so a failure shows what the dialog said instead.
      await expect
        .poll(() => dialog.locator('.dialog-warning').textContent(), { timeout: 30_000 })
        .toBe('2 messages and 1 file have not been sent.');
      expect(await page.evaluate(() => document.activeElement?.closest('dialog') !== null)).toBe(true);
      await screenshot(page, 'sign-out-warning');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      await messageBubble(page, `Typed offline ${t}`).waitFor();

      // Send first waits for the connection, and can be cancelled.
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await dialog.getByRole('button', { name: 'Send first' }).click();
      const sending = page.getByRole('dialog', { name: 'Sending before you sign out' });
      await sending.getByText('0 of 2 messages sent').waitFor();
      await sending.getByText('Waiting for a connection…').waitFor();
      await screenshot(page, 'sign-out-sending');
      await sending.getByRole('button', { name: 'Cancel' }).click();
      await sending.waitFor({ state: 'hidden' });
      await inboxReady(page);

      // Discard and sign out.
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await dialog.getByRole('button', { name: 'Discard and sign out' }).click();
      await signedOut(page);
      await page.getByText('Your messages and files were removed from this browser.').waitFor();
      await screenshot(page, 'signed-out');

      expect(await databasesOf(page, alice)).toEqual([]);
      expect(traces(await webStorage(page), alice)).toEqual([]);
      expect((await cacheNames(page)).filter((n) => !n.startsWith('workbox-precache'))).toEqual([]);
      // Nor in the page: the open conversation's id (made of both users' ids) or what was announced.
      expect(page.url()).not.toContain('#');
      expect(await page.title()).toBe('FetchWork Messaging');
      expect(await page.content()).not.toContain(`A private note for Alice ${t}`);

      // Discarded means never sent.
      await net.goOnline();
      const stored = await rest<{ content: string }[]>(
        apiUrl,
        bob,
        'GET',
        `/api/messages/conversations/${encodeURIComponent(conversationId)}`,
      );
      expect(stored.map((m) => m.content).sort()).toEqual([`A private note for Alice ${t}`, `Answered online ${t}`].sort());

      // The next person on this browser.
      await signIn(page, carol);
      await page.locator('.empty-list').waitFor();
      expect(await page.locator('.conversation').count()).toBe(0);
      await page.getByLabel('Search messages').fill('private note');
      await page.getByText(/No messages match|No results/i).waitFor();
      const html = await page.content();
      expect(html).not.toContain(`A private note for Alice ${t}`);
      expect(html).not.toContain(alice.name);
      expect(await databasesOf(page, alice)).toEqual([]);
      expect((await databasesOf(page, carol)).length).toBeGreaterThan(0);
      expect(traces(await webStorage(page), alice)).toEqual([]);
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await a.context.close();
    }
  });

  it('"Send first" shows progress and signs out once the unsent messages reached the server', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    const conversationId = await restSend(apiUrl, bob, alice, `Hello ${t}`);
    const a = await openAs(browser, appUrl, alice, { network: true, keep: false });
    const net = a.net as NonNullable<typeof a.net>;
    try {
      await openConversation(a.page, bob.name);
      await net.goOffline();
      await send(a.page, `First while offline ${t}`);
      await send(a.page, `Second while offline ${t}`);
      await a.page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await a.page.getByRole('dialog', { name: 'Sign out?' }).getByText('2 messages have not been sent.').waitFor();
      await a.page.getByRole('button', { name: 'Send first' }).click();
      const sending = a.page.getByRole('dialog', { name: 'Sending before you sign out' });
      await sending.getByText('0 of 2 messages sent').waitFor();
      expect(await sending.locator('progress').getAttribute('max')).toBe('2');

      await net.goOnline();
      await signedOut(a.page);
      const stored = await rest<{ content: string }[]>(
        apiUrl,
        bob,
        'GET',
        `/api/messages/conversations/${encodeURIComponent(conversationId)}`,
      );
      expect(stored.map((m) => m.content)).toEqual(expect.arrayContaining([`First while offline ${t}`, `Second while offline ${t}`]));
      expect(await databasesOf(a.page, alice)).toEqual([]);
      expect(traces(await webStorage(a.page), alice)).toEqual([]);
    } finally {
      await a.context.close();
    }
  });

  it('every tab of the browser signs out together, and none of them keeps anything of the user', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    await restSend(apiUrl, bob, alice, `For both tabs ${t}`);
    const context = await newContext(browser);
    try {
      const tab1 = await context.newPage();
      collectConsoleErrors(tab1);
      await tab1.goto(appUrl);
      // Not kept on the device: the second tab gets the session from the first.
      await signIn(tab1, alice, { keep: false });
      const tab2 = await context.newPage();
      collectConsoleErrors(tab2);
      await tab2.goto(appUrl);
      await inboxReady(tab2);
      await conversationRow(tab1, bob.name).waitFor();
      await conversationRow(tab2, bob.name).waitFor();
      await openConversation(tab1, bob.name);

      // Nothing unsent: no warning.
      await tab2.getByRole('button', { name: 'Sign out', exact: true }).click();
      await signedOut(tab2);
      await signedOut(tab1);
      await tab1.getByText('You signed out in another tab.').waitFor();
      await tab2.getByText('Your messages and files were removed from this browser.').waitFor();
      for (const tab of [tab1, tab2]) {
        expect(await databasesOf(tab, alice)).toEqual([]);
        expect(traces(await webStorage(tab), alice)).toEqual([]);
        expect(pageErrors(tab)).toEqual([]);
      }
    } finally {
      await context.close();
    }
  });

  it('"Keep me signed in" off: closing the last tab signs out, and the next start deletes the replica; on: the device keeps both', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    await restSend(apiUrl, bob, alice, `Hello Alice ${t}`);
    await restSend(apiUrl, alice, bob, `Hello Bob ${t}`);

    const shared = await newContext(browser);
    const own = await newContext(browser);
    try {
      // A shared computer: the box left off (the default in a browser tab).
      const first = await shared.newPage();
      await first.goto(appUrl);
      expect(await first.getByLabel('Keep me signed in on this device').isChecked()).toBe(false);
      await signIn(first, alice, { keep: false });
      await conversationRow(first, bob.name).waitFor();
      expect((await databasesOf(first, alice)).length).toBeGreaterThan(0);
      await first.close();

      const next = await shared.newPage();
      collectConsoleErrors(next);
      await next.goto(appUrl);
      await signedOut(next);
      // Once the closed tab's lock on the replica is gone (its page torn down), the next start deletes it.
      await expect
        .poll(() => next.evaluate(async () => (await navigator.locks.query()).held?.map((l) => l.name) ?? []), { timeout: 15_000 })
        .toEqual([]);
      await next.reload();
      await signedOut(next);
      await expect.poll(() => databasesOf(next, alice), { timeout: 15_000 }).toEqual([]);
      expect(traces(await webStorage(next), alice)).toEqual([]);
      expect(pageErrors(next)).toEqual([]);

      // One's own computer, box ticked: a new tab after closing the last one is still signed in.
      const mine = await own.newPage();
      await mine.goto(appUrl);
      await signIn(mine, bob, { keep: true });
      await conversationRow(mine, alice.name).waitFor();
      await mine.close();
      const again = await own.newPage();
      await again.goto(appUrl);
      await inboxReady(again);
      await conversationRow(again, alice.name).waitFor();
      expect((await databasesOf(again, bob)).length).toBeGreaterThan(0);
    } finally {
      await shared.close();
      await own.close();
    }
  });
});
