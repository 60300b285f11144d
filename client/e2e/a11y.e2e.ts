import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { collectConsoleErrors, conversationRow, launchBrowser, newContext, pageErrors, registerUser, tag } from './support/browser';
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

/** Controls a screen reader would announce without a name. */
function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('button, input, textarea, select, [role="button"], [role="tab"]')) {
      if (el.closest('[hidden], [aria-hidden="true"]') || el.offsetParent === null) continue;
      const labelled = el
        .getAttribute('aria-labelledby')
        ?.split(/\s+/)
        .some((id) => document.getElementById(id)?.textContent?.trim());
      const name =
        el.getAttribute('aria-label')?.trim() ||
        labelled ||
        ((el as HTMLInputElement).labels?.length ?? 0) > 0 ||
        (el.tagName === 'BUTTON' && el.textContent?.trim()) ||
        el.getAttribute('title');
      if (!name) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
}

async function focusedMatches(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector);
}

describe('accessibility', () => {
  it('signs in, moves through the list and opens a conversation with the keyboard alone', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    const carol = await registerUser(apiUrl, `Carol ${t}`);
    await restSend(apiUrl, bob, alice, `From Bob ${t}`);
    await restSend(apiUrl, carol, alice, `From Carol ${t}`);

    const context = await newContext(browser);
    const page = await context.newPage();
    collectConsoleErrors(page);
    try {
      await page.goto(appUrl);
      await page.getByLabel('Email').waitFor();
      expect(await unnamedControls(page)).toEqual([]);

      // Tab order reaches the email field; typing and Enter sign in.
      for (let i = 0; i < 10 && !(await focusedMatches(page, 'input[type="email"]')); i++) await page.keyboard.press('Tab');
      await page.keyboard.type(alice.email);
      await page.keyboard.press('Tab');
      await page.keyboard.type(alice.password);
      await page.keyboard.press('Enter');
      await conversationRow(page, bob.name).waitFor();
      await conversationRow(page, carol.name).waitFor();
      expect(await unnamedControls(page)).toEqual([]);
      expect(await page.locator('[aria-live="polite"]').count()).toBeGreaterThan(0);

      // One tab stop for the list; arrows move inside it; focus is visible.
      for (let i = 0; i < 15 && !(await focusedMatches(page, '.conversation-button')); i++) await page.keyboard.press('Tab');
      expect(await focusedMatches(page, '.conversation-button')).toBe(true);
      const first = await page.evaluate(() =>
        document.activeElement?.closest('[data-conversation-id]')?.getAttribute('data-conversation-id'),
      );
      expect(await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle)).not.toBe('none');
      await page.keyboard.press('ArrowDown');
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.closest('[data-conversation-id]')?.getAttribute('data-conversation-id')))
        .not.toBe(first);
      const second = await page.evaluate(
        () => document.activeElement?.closest('.conversation')?.querySelector('.conversation-name')?.textContent,
      );
      await page.keyboard.press('Enter');
      await page.locator('.pane-title h2', { hasText: second as string }).waitFor();

      // Tab moves on from the list to the message pane (the list is one stop, not one per row).
      await page.keyboard.press('Tab');
      expect(await focusedMatches(page, '.conversation-button')).toBe(false);
      expect(await unnamedControls(page)).toEqual([]);
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
