import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  conversationRow,
  launchBrowser,
  messageBubble,
  openAs,
  openConversation,
  registerUser,
  screenshot,
  send,
  tag,
  waitForStatus,
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

describe('blocks', () => {
  it('Alice blocks Bob from the conversation header (confirmed); his messages are refused until she unblocks him', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    await restSend(apiUrl, bob, alice, `Hello from Bob ${t}`);
    const a = await openAs(browser, appUrl, alice);
    try {
      const { page } = a;
      await openConversation(page, bob.name);
      const header = page.locator('.pane-header');

      await header.getByRole('button', { name: `Block ${bob.name}`, exact: true }).click();
      const dialog = page.getByRole('dialog', { name: `Block ${bob.name}?` });
      await dialog.waitFor();
      // The safe choice has the focus: Enter alone blocks nobody.
      expect(await dialog.getByRole('button', { name: 'Cancel' }).evaluate((b) => b === document.activeElement)).toBe(true);
      await screenshot(page, 'block-confirm');
      await dialog.getByRole('button', { name: 'Block', exact: true }).click();
      await dialog.waitFor({ state: 'hidden' });
      await header.getByRole('button', { name: `Unblock ${bob.name}`, exact: true }).waitFor();
      await conversationRow(page, bob.name).getByTestId('blocked-mark').waitFor();
      await page.getByTestId('blocked-note').waitFor();

      // Bob's next message does not reach her: the server refuses it.
      await expect(restSend(apiUrl, bob, alice, `While blocked ${t}`)).rejects.toThrow(/403 .*"code":"BLOCKED"/);

      // Hers do not reach him either, and the refusal says why in words.
      const refused = await send(page, `Alice while blocking ${t}`);
      await waitForStatus(refused, 'failed');
      expect(await refused.getByRole('alert').textContent()).toContain('one of you blocked the other');
      await refused.getByRole('button', { name: 'Discard' }).click();
      await refused.waitFor({ state: 'detached' });

      // Known again after a reload: the list comes from the server on connect.
      await page.reload();
      await conversationRow(page, bob.name).getByTestId('blocked-mark').waitFor();
      await openConversation(page, bob.name);

      await header.getByRole('button', { name: `Unblock ${bob.name}`, exact: true }).click();
      await header.getByRole('button', { name: `Block ${bob.name}`, exact: true }).waitFor();
      expect(await conversationRow(page, bob.name).getByTestId('blocked-mark').count()).toBe(0);
      expect(await page.getByTestId('blocked-note').count()).toBe(0);

      await restSend(apiUrl, bob, alice, `After the unblock ${t}`);
      await messageBubble(page, `After the unblock ${t}`).waitFor();
      expect(await messageBubble(page, `While blocked ${t}`).count()).toBe(0);
    } finally {
      await a.context.close();
    }
  });

  it('offline, the Block button says it needs a connection and opens nothing', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    await restSend(apiUrl, bob, alice, `Hello ${t}`);
    const a = await openAs(browser, appUrl, alice, { network: true });
    try {
      const { page } = a;
      await openConversation(page, bob.name);
      await a.net?.goOffline();
      await page.locator('.banner[data-connection="offline"], .banner[data-connection="connecting"]').first().waitFor();
      const button = page.locator('.pane-header').getByRole('button', { name: `Block ${bob.name}`, exact: true });
      expect(await button.getAttribute('aria-disabled')).toBe('true');
      // Still focusable (aria-disabled, not disabled), so a keyboard user learns why.
      await button.focus();
      await page.keyboard.press('Enter');
      await page.getByRole('status').filter({ hasText: 'Blocking and unblocking need a connection.' }).waitFor();
      expect(await page.getByRole('dialog', { name: `Block ${bob.name}?` }).isVisible()).toBe(false);
    } finally {
      await a.context.close();
    }
  });
});
