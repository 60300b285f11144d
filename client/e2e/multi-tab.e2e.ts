import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  collectConsoleErrors,
  inboxReady,
  launchBrowser,
  launchFreezableBrowser,
  messageBubble,
  newContext,
  openAs,
  openConversation,
  pageErrors,
  registerUser,
  screenshot,
  send,
  signIn,
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

/** Counts the replication requests (sync:pull / sync:push) a tab sends over its sockets. */
function countSyncFrames(page: Page): { readonly count: number } {
  const counter = { count: 0 };
  page.on('websocket', (ws) => {
    ws.on('framesent', ({ payload }) => {
      const text = typeof payload === 'string' ? payload : payload.toString('utf8');
      // Socket.io event packets look like 42["sync:pull",…] or 4217["sync:push",…] (with an ack id).
      if (/^42\d*\["sync:(pull|push)"/.test(text)) counter.count += 1;
    });
  });
  return counter;
}

async function isLeader(page: Page): Promise<boolean> {
  return (await page.locator('.sidebar-footer').getAttribute('data-leader')) === 'true';
}

describe('several tabs of one user', () => {
  it('share one replica, replicate from one tab only, and hand over when that tab closes', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    await restSend(apiUrl, bob, alice, `Hello Alice ${t}`);
    const b = await openAs(browser, appUrl, bob);

    const context = await newContext(browser);
    const tab1 = await context.newPage();
    const tab1Sync = countSyncFrames(tab1);
    collectConsoleErrors(tab1);
    await tab1.goto(appUrl);
    await signIn(tab1, alice);
    const tab2 = await context.newPage();
    const tab2Sync = countSyncFrames(tab2);
    collectConsoleErrors(tab2);
    await tab2.goto(appUrl);
    // Signed in already: the session and the replica are the browser's, not the tab's.
    await inboxReady(tab2);

    try {
      await expect.poll(async () => [await isLeader(tab1), await isLeader(tab2)].filter(Boolean).length, { timeout: 30_000 }).toBe(1);
      const [leader, follower, leaderSync, followerSync] = (await isLeader(tab1))
        ? [tab1, tab2, tab1Sync, tab2Sync]
        : [tab2, tab1, tab2Sync, tab1Sync];
      await follower.locator('.sidebar-footer', { hasText: 'Another tab of this browser is syncing' }).waitFor();

      // A message written in the follower is stored once, shown in both tabs, and pushed by the leader.
      await openConversation(follower, bob.name);
      await openConversation(leader, bob.name);
      const fromFollower = await send(follower, `Typed in the second tab ${t}`);
      await messageBubble(leader, `Typed in the second tab ${t}`).waitFor();
      await waitForStatus(fromFollower, 'delivered');
      await openConversation(b.page, alice.name);
      await messageBubble(b.page, `Typed in the second tab ${t}`).waitFor();
      await waitForStatus(fromFollower, 'read');
      await waitForStatus(messageBubble(leader, `Typed in the second tab ${t}`), 'read');

      // An incoming message reaches both tabs through the one replication.
      await send(b.page, `For both tabs ${t}`);
      await messageBubble(leader, `For both tabs ${t}`).waitFor();
      await messageBubble(follower, `For both tabs ${t}`).waitFor();
      await screenshot(follower, 'two-tabs-follower');

      expect(leaderSync.count).toBeGreaterThan(0);
      expect(followerSync.count).toBe(0);

      // Closing the leader hands replication to the remaining tab.
      await leader.close({ runBeforeUnload: true });
      await follower.locator('.sidebar-footer[data-leader="true"]').waitFor();
      await send(b.page, `After the handover ${t}`);
      await messageBubble(follower, `After the handover ${t}`).waitFor();
      const afterHandover = await send(follower, `The remaining tab replicates ${t}`);
      await messageBubble(b.page, `The remaining tab replicates ${t}`).waitFor();
      await waitForStatus(afterHandover, 'read');
      expect(followerSync.count).toBeGreaterThan(0);
      expect(pageErrors(follower)).toEqual([]);
    } finally {
      await context.close();
      await b.context.close();
    }
  });

  it('freezing the leader hands over, and the frozen tab rejoins as a follower when it resumes', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    await restSend(apiUrl, bob, alice, `Hello Alice ${t}`);
    const b = await openAs(browser, appUrl, bob);
    const own = await launchFreezableBrowser();
    try {
      const tab1 = await own.context.newPage();
      const tab1Sync = countSyncFrames(tab1);
      collectConsoleErrors(tab1);
      await tab1.goto(appUrl);
      await signIn(tab1, alice);
      const tab2 = await own.context.newPage();
      const tab2Sync = countSyncFrames(tab2);
      collectConsoleErrors(tab2);
      await tab2.goto(appUrl);
      await inboxReady(tab2);
      await expect.poll(async () => [await isLeader(tab1), await isLeader(tab2)].filter(Boolean).length, { timeout: 30_000 }).toBe(1);
      const [leader, follower, leaderSync, followerSync] = (await isLeader(tab1))
        ? [tab1, tab2, tab1Sync, tab2Sync]
        : [tab2, tab1, tab2Sync, tab1Sync];
      // Tabs of one window, as a person has them: only the one in front is visible (and renders).
      await leader.bringToFront();
      await openConversation(leader, bob.name);
      await follower.bringToFront();
      await openConversation(follower, bob.name);
      await openConversation(b.page, alice.name);
      // Freeze the leader while its replication is idle: the read receipt for Bob's message has
      // gone out and come back. (Chrome's own freezing spares a page that holds a Web Lock or an
      // IndexedDB lock another tab waits for; CDP freezes regardless, mid-transaction included.)
      await waitForStatus(messageBubble(b.page, `Hello Alice ${t}`), 'read');
      await leader.waitForTimeout(1000);

      // What Chromium does to a background tab after a while, and what the Page Lifecycle API
      // announces; the leader is the hidden tab now.
      const lifecycle = await own.context.newCDPSession(leader);
      await lifecycle.send('Page.setWebLifecycleState', { state: 'frozen' });
      const frozenSync = leaderSync.count;
      await follower.locator('.sidebar-footer[data-leader="true"]').waitFor();
      await send(b.page, `While the first tab is frozen ${t}`);
      await messageBubble(follower, `While the first tab is frozen ${t}`).waitFor();
      expect(followerSync.count).toBeGreaterThan(0);
      expect(leaderSync.count).toBe(frozenSync);
      // Only this much happens while the page is frozen: Chromium still delivers BroadcastChannel
      // messages to a frozen page, so RxDB there answers the new leader's writes with IndexedDB
      // reads that cannot complete until it resumes, and the new leader's next writes to that
      // store wait behind them.

      // Resumed, it reads the shared replica, and stands in the election again without taking
      // over; the new leader keeps replicating, from the background.
      await lifecycle.send('Page.setWebLifecycleState', { state: 'active' });
      const fromFollower = await send(follower, `Sent by the new leader ${t}`);
      await messageBubble(b.page, `Sent by the new leader ${t}`).waitFor();
      await waitForStatus(fromFollower, 'read');
      await leader.bringToFront();
      await messageBubble(leader, `Sent by the new leader ${t}`).waitFor();
      await leader.locator('.sidebar-footer[data-leader="false"]').waitFor();
      const resumedSync = leaderSync.count;
      await send(b.page, `After the resume ${t}`);
      await messageBubble(leader, `After the resume ${t}`).waitFor();
      expect(await isLeader(follower)).toBe(true);
      expect(leaderSync.count).toBe(resumedSync);

      // It is a candidate again: when the tab that took over closes, it leads.
      await follower.close({ runBeforeUnload: true });
      await leader.locator('.sidebar-footer[data-leader="true"]').waitFor();
      await send(b.page, `Back to the first tab ${t}`);
      await messageBubble(leader, `Back to the first tab ${t}`).waitFor();
      expect(leaderSync.count).toBeGreaterThan(resumedSync);
      expect(pageErrors(leader)).toEqual([]);
    } finally {
      await own.close();
      await b.context.close();
    }
  });
});
