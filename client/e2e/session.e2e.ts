import { createHmac } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  conversationRow,
  inboxReady,
  launchBrowser,
  openAs,
  openConversation,
  registerUser,
  screenshot,
  send,
  tag,
  waitForStatus,
} from './support/browser';
import { rest, restSend } from './support/rest';
import { E2E_JWT_SECRET } from './support/sync-server';

const apiUrl = inject('apiUrl');
const appUrl = inject('appUrl');

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** A FetchWork-style HS256 token that expired a minute ago, signed with the server's secret. */
function expiredToken(user: { id: string; name: string; email: string }): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ userId: user.id, name: user.name, email: user.email, iat: now - 3600, exp: now - 60 })}`;
  return `${body}.${createHmac('sha256', E2E_JWT_SECRET).update(body).digest('base64url')}`;
}

describe('session expiry', () => {
  it('keeps the local inbox and unsent messages when the token expires, and resumes after signing in again', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    const conversationId = await restSend(apiUrl, bob, alice, `Before the token expired ${t}`);
    const a = await openAs(browser, appUrl, alice);
    try {
      await conversationRow(a.page, bob.name).waitFor();

      // The stored session now holds an expired token, as after a week away.
      await a.page.evaluate((token) => {
        const session = JSON.parse(localStorage.getItem('fetchwork.session') as string);
        localStorage.setItem('fetchwork.session', JSON.stringify({ ...session, token }));
      }, expiredToken(alice));
      await a.page.reload();
      await inboxReady(a.page);

      const banner = a.page.locator('.banner[data-connection="error"]', { hasText: 'Your session has expired' });
      await banner.waitFor();
      // Local data is untouched and still writable.
      await openConversation(a.page, bob.name);
      const bubble = await send(a.page, `Written with an expired session ${t}`);
      await waitForStatus(bubble, 'pending');
      await screenshot(a.page, 'session-expired');

      await banner.getByRole('button', { name: 'Sign in again' }).click();
      await a.page.getByText('Your session has expired. Sign in again').waitFor();
      expect(await a.page.getByLabel('Email').inputValue()).toBe(alice.email);
      await a.page.getByLabel('Password').fill(alice.password);
      await a.page.getByRole('button', { name: 'Sign in', exact: true }).last().click();
      await inboxReady(a.page);

      await openConversation(a.page, bob.name);
      // Bob has no device online, so "sent" (stored by the server) is as far as it gets.
      await waitForStatus(a.page.locator('.message', { hasText: `Written with an expired session ${t}` }), 'sent');
      const stored = await rest<{ content: string }[]>(
        apiUrl,
        bob,
        'GET',
        `/api/messages/conversations/${encodeURIComponent(conversationId)}`,
      );
      expect(stored.filter((m) => m.content === `Written with an expired session ${t}`)).toHaveLength(1);
    } finally {
      await a.context.close();
    }
  });
});
