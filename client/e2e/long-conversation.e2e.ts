import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  conversationRow,
  historyLoaded,
  launchBrowser,
  messageBubble,
  openAs,
  openConversation,
  registerUser,
  send,
  tag,
} from './support/browser';
import { restSendMany } from './support/rest';

const apiUrl = inject('apiUrl');
const appUrl = inject('appUrl');

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('a conversation longer than the pane’s window', () => {
  it('shows the sender’s new message at the bottom even when scrolled up in a full window', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    // More than the pane's window (100 messages): a new one slides the window, the count stays.
    await restSendMany(
      apiUrl,
      bob,
      alice,
      Array.from({ length: 130 }, (_, i) => `Filler ${i} ${t}`),
    );
    const a = await openAs(browser, appUrl, alice);
    try {
      await conversationRow(a.page, bob.name)
        .locator('.conversation-preview', { hasText: `Filler 129 ${t}` })
        .waitFor();
      await historyLoaded(a.page);
      await openConversation(a.page, bob.name);
      await messageBubble(a.page, `Filler 129 ${t}`).waitFor();

      // Up a screen or two, well short of the top (which would load an older page and grow the window).
      const pane = a.page.locator('.message-scroll');
      await pane.evaluate((el) => {
        el.scrollTop = Math.max(el.clientHeight * 3, el.scrollTop - el.clientHeight * 2);
      });
      await expect.poll(() => inView(a.page, `Filler 129 ${t}`)).toBe(false);

      const text = `After scrolling up ${t}`;
      await send(a.page, text);
      await expect.poll(() => inView(a.page, text)).toBe(true);
    } finally {
      await a.context.close();
    }
  });
});

/** Whether the bubble with this text is inside the visible part of the message pane. */
async function inView(page: import('playwright-core').Page, text: string): Promise<boolean> {
  const bubble = messageBubble(page, text);
  if ((await bubble.count()) === 0) return false;
  return bubble.evaluate((el) => {
    const box = el.getBoundingClientRect();
    const pane = (el.closest('.message-scroll') as HTMLElement).getBoundingClientRect();
    return box.top >= pane.top - 1 && box.bottom <= pane.bottom + 1;
  });
}
