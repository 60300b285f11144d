import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  conversationRow,
  historyLoaded,
  launchBrowser,
  messageBubble,
  newContext,
  openConversation,
  registerUser,
  screenshot,
  signIn,
  tag,
} from './support/browser';
import { seedHistory } from './support/seed';

const apiUrl = inject('apiUrl');
const appUrl = inject('appUrl');

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('a new device with a long history', () => {
  it('shows the newest conversation and its latest messages before the older history has arrived', async () => {
    const t = tag();
    const owner = await registerUser(apiUrl, `Owner ${t}`);
    const partners = await Promise.all(
      Array.from({ length: 10 }, (_, i) => registerUser(apiUrl, `Partner${String.fromCharCode(97 + i)} ${t}`)),
    );
    const { conversations } = await seedHistory(apiUrl, owner, partners, 300);
    const newest = conversations[0]!;

    const context = await newContext(browser);
    // Records, on the page's own clock, when the newest conversation's latest message is first
    // on screen and when the history indicator was last seen: the order of the two is the claim.
    await context.addInitScript((text: string) => {
      const marks: { newestShown?: number; progressSeen?: number; progressGone?: number } = {};
      (window as unknown as { recentFirst: typeof marks }).recentFirst = marks;
      const check = () => {
        if (document.querySelector('[data-testid="history-progress"]')) {
          marks.progressSeen ??= performance.now();
          marks.progressGone = undefined;
        } else if (marks.progressSeen !== undefined && marks.progressGone === undefined) {
          marks.progressGone = performance.now();
        }
        if (marks.newestShown === undefined && document.querySelector('.conversation-list')?.textContent?.includes(text)) {
          marks.newestShown = performance.now();
        }
      };
      new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
    }, newest.newest);
    const page = await context.newPage();
    try {
      await page.goto(appUrl);
      await signIn(page, owner);
      const row = conversationRow(page, newest.partner.name);
      await row.filter({ hasText: newest.newest }).waitFor();
      // All of the partners' messages are unread (150 each, shown as 99+), not only those already here.
      await row.getByTestId('unread-badge').filter({ hasText: /^99\+/ }).waitFor();
      await page.getByTestId('total-unread').filter({ hasText: /^1500/ }).waitFor();
      await openConversation(page, newest.partner.name);
      await messageBubble(page, newest.newest).waitFor();
      await screenshot(page, 'recent-first-newest-open');

      // The walk fills in the rest behind; the indicator goes once all of it is here.
      await historyLoaded(page, 120_000);
      const marks = await page.evaluate(() => (window as unknown as { recentFirst: Record<string, number | undefined> }).recentFirst);
      expect(marks.progressSeen, 'the history indicator was shown').toBeDefined();
      expect(marks.newestShown).toBeDefined();
      expect(marks.progressGone).toBeDefined();
      expect(marks.newestShown!).toBeLessThan(marks.progressGone!);

      // The oldest message of the oldest conversation arrived, and local search finds it.
      const oldest = conversations[conversations.length - 1]!;
      const first = `history ${conversations.length - 1}/0 to ${oldest.partner.name}`;
      await page.getByPlaceholder('Search messages').fill(first);
      await page.locator('.hit', { hasText: first }).first().waitFor();
    } finally {
      await context.close();
    }
  });
});
