import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  composer,
  conversationRow,
  isMonotonic,
  launchBrowser,
  messageBubble,
  openAs,
  openConversation,
  pageErrors,
  recordRowHeights,
  recordStatuses,
  registerUser,
  rowHeights,
  screenshot,
  send,
  startConversation,
  statusHistory,
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

describe('two people messaging in real time', () => {
  it('delivers a message without reload and moves the ticks sent → delivered → read', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    const a = await openAs(browser, appUrl, alice);
    const b = await openAs(browser, appUrl, bob, { network: true });
    const bobNet = b.net as NonNullable<typeof b.net>;
    try {
      // Bob's device is off the network, so Alice's message can be accepted by the server
      // ("sent") and visibly not yet delivered.
      await bobNet.goOffline();

      await recordStatuses(a.page);
      await recordRowHeights(a.page);
      await startConversation(a.page, bob);
      // The pointer off the list: a hovered message shows its actions, which takes room.
      await a.page.mouse.move(0, 0);
      const text = `Hello Bob, are you free for the logo job? ${t}`;
      const bubble = await send(a.page, text);
      const messageId = (await bubble.getAttribute('data-message-id')) as string;
      await waitForStatus(bubble, 'sent');
      await a.page.locator('.pane-title h2', { hasText: bob.name }).waitFor();
      await screenshot(a.page, 'message-sent');

      await bobNet.goOnline();
      // No reload: the conversation and its unread badge arrive by themselves.
      const row = conversationRow(b.page, alice.name);
      await row.locator('.conversation-preview', { hasText: text }).waitFor();
      await row.locator('.badge', { hasText: '1' }).waitFor();
      await waitForStatus(bubble, 'delivered');

      await openConversation(b.page, alice.name);
      await messageBubble(b.page, text).waitFor();
      await waitForStatus(bubble, 'read');
      await row.locator('.badge').waitFor({ state: 'detached' });
      await screenshot(a.page, 'message-read');

      // Presence and typing need consent (docs/presence.md): once Bob has answered, Alice sees him
      // online, then typing, then his next answer.
      const first = `Hi Alice ${t}`;
      await composer(b.page).fill(first);
      await composer(b.page).press('Enter');
      await messageBubble(a.page, first).waitFor();
      await a.page.getByTestId('presence').filter({ hasText: 'Online' }).waitFor();
      const reply = `Yes, send me the brief ${t}`;
      await composer(b.page).pressSequentially('Yes, send');
      await a.page
        .getByTestId('typing')
        .filter({ hasText: `${bob.name} is typing…` })
        .waitFor();
      await screenshot(a.page, 'typing');
      await composer(b.page).fill(reply);
      await composer(b.page).press('Enter');
      await messageBubble(a.page, reply).waitFor();
      await a.page.getByTestId('typing').filter({ hasText: 'is typing' }).waitFor({ state: 'detached' });
      await expect.poll(() => a.page.getByTestId('live-region').textContent()).toContain(reply);

      // Bob closes his only tab: after the server's grace period he shows as offline.
      await b.context.close();
      await a.page.getByTestId('presence').filter({ hasText: 'Offline' }).waitFor();
      await conversationRow(a.page, bob.name).locator('.presence-dot:not(.online)').waitFor();

      const history = await statusHistory(a.page, messageId);
      expect(history.slice(-3)).toEqual(['sent', 'delivered', 'read']);
      // Shown before it was stored, then stored, sent, delivered and read: the row never changed
      // its height, so the list under the reader never moved for it.
      expect(await rowHeights(a.page, messageId)).toHaveLength(1);
      expect(isMonotonic(history), history.join(' → ')).toBe(true);
      expect([...pageErrors(a.page), ...pageErrors(b.page)]).toEqual([]);
    } finally {
      await a.context.close();
      await b.context.close().catch(() => undefined);
    }
  });

  it('re-sorts the list and counts unread live; bulk mark-read clears the badges and reaches the senders', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    const carol = await registerUser(apiUrl, `Carol ${t}`);
    const b = await openAs(browser, appUrl, bob);
    const a = await openAs(browser, appUrl, alice);
    try {
      const names = () => b.page.locator('.conversation-name').allTextContents();

      await restSend(apiUrl, carol, bob, `Carol's first ${t}`);
      await conversationRow(b.page, carol.name).waitFor();

      await startConversation(a.page, bob);
      const fromAlice = await send(a.page, `Alice checking in ${t}`);
      await expect.poll(names).toEqual([alice.name, carol.name]);

      await restSend(apiUrl, carol, bob, `Carol again ${t}`);
      await expect.poll(names).toEqual([carol.name, alice.name]);
      await conversationRow(b.page, carol.name).locator('.badge', { hasText: '2' }).waitFor();
      await conversationRow(b.page, alice.name).locator('.badge', { hasText: '1' }).waitFor();
      await b.page.getByTestId('total-unread').filter({ hasText: '3' }).waitFor();
      await expect.poll(() => b.page.title()).toBe('(3) FetchWork Messaging');
      await screenshot(b.page, 'inbox-unread');

      await b.page.getByRole('button', { name: 'Select', exact: true }).click();
      await b.page.getByRole('checkbox', { name: `Select conversation with ${carol.name}` }).check();
      await b.page.getByRole('checkbox', { name: `Select conversation with ${alice.name}` }).check();
      await screenshot(b.page, 'inbox-multi-select');
      await b.page.getByRole('toolbar', { name: 'Selected conversations' }).getByRole('button', { name: 'Mark read' }).click();

      await b.page.locator('.conversation .badge').first().waitFor({ state: 'detached' });
      await b.page.getByTestId('total-unread').waitFor({ state: 'detached' });
      await waitForStatus(fromAlice, 'read');

      // Search results on screen follow the replica: a matching message that arrives joins them.
      const needle = `tangerine${t}`;
      await b.page.getByLabel('Search messages').fill(needle);
      await b.page.locator('.search-summary', { hasText: 'No messages match' }).waitFor();
      await restSend(apiUrl, carol, bob, `The ${needle} crates are ready`);
      await b.page.locator('.hit', { hasText: `The ${needle} crates are ready` }).waitFor();
      expect(await b.page.getByLabel('Search messages').inputValue()).toBe(needle);
      expect(pageErrors(b.page)).toEqual([]);
    } finally {
      await a.context.close();
      await b.context.close();
    }
  });

  it('shows edits and deletions on the other side, and the composer keeps to its rules', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    const a = await openAs(browser, appUrl, alice);
    const b = await openAs(browser, appUrl, bob);
    try {
      await startConversation(a.page, bob);
      const first = await send(a.page, `The budget is 300 ${t}`);
      const second = await send(a.page, `Ignore this one ${t}`);
      await openConversation(b.page, alice.name);
      await messageBubble(b.page, `The budget is 300 ${t}`).waitFor();

      // Edit through the composer's edit mode.
      await first.hover();
      await first.getByRole('button', { name: 'Edit message' }).click();
      await a.page.getByText('Editing message').waitFor();
      await composer(a.page).fill(`The budget is 350 ${t}`);
      await composer(a.page).press('Enter');
      const edited = messageBubble(b.page, `The budget is 350 ${t}`);
      await edited.locator('.edited-marker').waitFor();
      await messageBubble(b.page, `The budget is 300 ${t}`).waitFor({ state: 'detached' });

      // Delete with the inline confirmation.
      // Its id first: once deleted, the bubble no longer holds the text that finds it.
      const secondId = (await second.getAttribute('data-message-id')) as string;
      await second.hover();
      await second.getByRole('button', { name: 'Delete message' }).click();
      await second.getByRole('button', { name: 'Delete', exact: true }).click();
      await b.page.locator(`.message[data-message-id="${secondId}"] .deleted-marker`).waitFor();
      await messageBubble(b.page, `Ignore this one ${t}`).waitFor({ state: 'detached' });
      await screenshot(b.page, 'edited-and-deleted');

      // Shift+Enter is a new line, Enter sends the two lines as one message.
      await composer(a.page).fill('');
      await composer(a.page).pressSequentially('line one');
      await composer(a.page).press('Shift+Enter');
      await composer(a.page).pressSequentially(`line two ${t}`);
      expect(await composer(a.page).inputValue()).toBe(`line one\nline two ${t}`);
      await composer(a.page).press('Enter');
      await messageBubble(b.page, `line two ${t}`).filter({ hasText: 'line one' }).waitFor();

      // 2,000 characters at most: longer input is cut and the counter shows the limit.
      await composer(a.page).fill('x'.repeat(2100));
      expect((await composer(a.page).inputValue()).length).toBe(2000);
      await a.page.getByTestId('char-counter').filter({ hasText: '2000 / 2000' }).waitFor();
      await a.page.getByText('You have reached the limit of 2000 characters.').waitFor();
      await composer(a.page).fill('');
      expect([...pageErrors(a.page), ...pageErrors(b.page)]).toEqual([]);
    } finally {
      await a.context.close();
      await b.context.close();
    }
  });

  it('selects messages for bulk delete, and works at phone width', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    await restSend(apiUrl, bob, alice, `Hi from Bob ${t}`);
    const a = await openAs(browser, appUrl, alice, { phone: true });
    try {
      // Phone: the list fills the screen; opening a conversation replaces it; back returns.
      await openConversation(a.page, bob.name);
      await expect.poll(() => a.page.locator('.sidebar').isVisible()).toBe(false);
      const one = await send(a.page, `first to delete ${t}`);
      const two = await send(a.page, `second to delete ${t}`);
      await screenshot(a.page, 'phone-conversation');

      await a.page.getByRole('button', { name: 'Select', exact: true }).click();
      await one.getByRole('checkbox', { name: 'Select message' }).check();
      await two.getByRole('checkbox', { name: 'Select message' }).check();
      // The content locators stop matching once the text is gone: follow the bubbles by id.
      const ids = [await one.getAttribute('data-message-id'), await two.getAttribute('data-message-id')];
      await a.page.getByRole('toolbar', { name: 'Selected messages' }).getByRole('button', { name: 'Delete' }).click();
      for (const id of ids) await a.page.locator(`.message[data-message-id="${id}"] .deleted-marker`).waitFor();

      await a.page.getByRole('button', { name: 'Back to conversations' }).click();
      await a.page.locator('.sidebar').waitFor();
      await conversationRow(a.page, bob.name).locator('.conversation-preview', { hasText: 'Message deleted' }).waitFor();
      await screenshot(a.page, 'phone-list');
    } finally {
      await a.context.close();
    }
  });
});
