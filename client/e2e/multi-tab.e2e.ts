import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  collectConsoleErrors,
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
    const t = Math.random().toString(36).slice(2, 7);
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
});
