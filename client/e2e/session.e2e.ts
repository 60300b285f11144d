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

describe('sessions', () => {
  it('a token that expired while the browser was closed is renewed from the refresh cookie: no banner, nothing to type, the cookie rotates', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    await restSend(apiUrl, bob, alice, `Hello ${t}`);
    const a = await openAs(browser, appUrl, alice);
    try {
      await conversationRow(a.page, bob.name).waitFor();
      const cookieBefore = (await a.context.cookies()).find((c) => c.name === 'fw_refresh');
      expect(cookieBefore?.httpOnly).toBe(true);
      // The page's scripts cannot read it.
      expect(await a.page.evaluate(() => document.cookie)).not.toContain('fw_refresh');
      await a.page.evaluate((token) => {
        const session = JSON.parse(localStorage.getItem('fetchwork.session') as string);
        localStorage.setItem('fetchwork.session', JSON.stringify({ ...session, token, expiresAt: Date.now() - 60_000 }));
      }, expiredToken(alice));
      await a.page.reload();
      await inboxReady(a.page);
      await openConversation(a.page, bob.name);
      const bubble = await send(a.page, `After the token expired ${t}`);
      await waitForStatus(bubble, 'sent');
      expect(await a.page.locator('.banner[data-connection="error"]').count()).toBe(0);
      const cookieAfter = (await a.context.cookies()).find((c) => c.name === 'fw_refresh');
      expect(cookieAfter?.value).toBeTruthy();
      expect(cookieAfter?.value).not.toBe(cookieBefore?.value);
    } finally {
      await a.context.close();
    }
  });

  it('a session ended on the server (sign out of all devices) asks to sign in again, keeping the local inbox and unsent messages', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    const conversationId = await restSend(apiUrl, bob, alice, `Before the session ended ${t}`);
    const a = await openAs(browser, appUrl, alice);
    try {
      await conversationRow(a.page, bob.name).waitFor();

      // Signed out everywhere from another device: this tab's socket is cut at once (auth:revoked).
      const ended = await fetch(`${apiUrl}/api/auth/logout-all`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}` } });
      expect(ended.status).toBe(204);

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

  it('"Sign out of all devices" signs this device out and makes the other one sign in again at once', async () => {
    const t = tag();
    const alice = await registerUser(apiUrl, `Alice ${t}`);
    const bob = await registerUser(apiUrl, `Bob ${t}`);
    await restSend(apiUrl, bob, alice, `Hello ${t}`);
    const laptop = await openAs(browser, appUrl, alice);
    const phone = await openAs(browser, appUrl, alice);
    try {
      await conversationRow(laptop.page, bob.name).waitFor();
      await conversationRow(phone.page, bob.name).waitFor();
      await laptop.page.getByRole('button', { name: 'Sign out of all devices' }).click();
      await laptop.page.getByText('You are signed out.').waitFor();
      await phone.page.locator('.banner[data-connection="error"]', { hasText: 'Your session has expired' }).waitFor();
      // The laptop's refresh cookie is gone with its session.
      expect((await laptop.context.cookies()).find((c) => c.name === 'fw_refresh')).toBeUndefined();
    } finally {
      await laptop.context.close();
      await phone.context.close();
    }
  });
});
