import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type CDPSession, chromium, type Page, type Worker } from 'playwright-core';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  CHROMIUM_ARGS,
  collectConsoleErrors,
  composer,
  messageBubble,
  networkSwitch,
  openConversation,
  pageErrors,
  registerUser,
  signIn,
  type TestUser,
  tag,
  UI_TIMEOUT,
  waitForStatusAtLeast,
} from './support/browser';
import { rest, restSend } from './support/rest';

const apiUrl = inject('apiUrl');
/** expect.poll waits 1 s by default: a worker's answer can take longer on a busy machine. */
const POLL = { timeout: 15_000 };
const appUrl = inject('appUrl');

/**
 * Notifications and background send in Debian's Chromium. Each test gets a browser with a profile
 * on disk (launchPersistentContext): the Push API and notification permission belong to a real
 * profile, and the context must outlive its pages for the "every page closed" case.
 *
 * Found here: `pushManager.subscribe()` never settles in this sandbox (Chromium registers with
 * its push service, FCM, which these machines cannot reach), so the page's PushManager is
 * replaced by a stand-in that returns a subscription to a loopback endpoint; everything after it
 * (the POST to the server, the worker, the notifications) is real. A push is delivered with CDP
 * `ServiceWorker.deliverPushMessage`, which hands the worker the payload unencrypted (the server's
 * tests check the encryption).
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function launch(): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'fw-e2e-push-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(UI_TIMEOUT);
  await context.grantPermissions(['notifications'], { origin: appUrl });
  cleanups.push(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });
  return context;
}

/** A PushManager stand-in (see above): a loopback endpoint with real P-256 keys, kept across reloads. */
async function fakePushService(context: BrowserContext): Promise<void> {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const p256dh = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x as string, 'base64url'),
    Buffer.from(jwk.y as string, 'base64url'),
  ]).toString('base64url');
  const keys = { p256dh, auth: randomBytes(16).toString('base64url'), endpoint: `http://127.0.0.1:9/push/${tag()}${tag()}` };
  await context.addInitScript((k) => {
    const KEY = 'e2e.fake-push-subscription';
    const make = (serverKey: ArrayBuffer) => ({
      endpoint: k.endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: serverKey },
      toJSON: () => ({ endpoint: k.endpoint, expirationTime: null, keys: { p256dh: k.p256dh, auth: k.auth } }),
      unsubscribe: async () => {
        localStorage.removeItem(KEY);
        return true;
      },
    });
    const stored = () => {
      const raw = localStorage.getItem(KEY);
      return raw ? make(Uint8Array.from(JSON.parse(raw) as number[]).buffer) : null;
    };
    PushManager.prototype.subscribe = async (options?: PushSubscriptionOptionsInit) => {
      const key = new Uint8Array(options?.applicationServerKey as ArrayBuffer);
      localStorage.setItem(KEY, JSON.stringify([...key]));
      return stored() as unknown as PushSubscription;
    };
    PushManager.prototype.getSubscription = async () => stored() as unknown as PushSubscription | null;
  }, keys);
}

/** The app's service worker registration id, for CDP's ServiceWorker domain (driven from `page`). */
async function serviceWorkerControl(page: Page): Promise<{ cdp: CDPSession; registrationId: string; origin: string }> {
  const cdp = await page.context().newCDPSession(page);
  const origin = new URL(appUrl).origin;
  const found = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
      const reg = e.registrations.find((r) => r.scopeURL.startsWith(origin) && !r.isDeleted);
      if (reg) resolve(reg.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  return { cdp, registrationId: await found, origin };
}

async function deliverPush(page: Page, payload: object): Promise<void> {
  const { cdp, registrationId, origin } = await serviceWorkerControl(page);
  await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: JSON.stringify(payload) });
  await cdp.detach();
}

async function dispatchSync(page: Page): Promise<void> {
  const { cdp, registrationId, origin } = await serviceWorkerControl(page);
  await cdp.send('ServiceWorker.dispatchSyncEvent', { origin, registrationId, tag: 'fetchwork-outbox', lastChance: false });
  await cdp.detach();
}

type Shown = { title: string; body: string; tag: string; data: unknown };
function shownNotifications(page: Page): Promise<Shown[]> {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data as unknown }));
  });
}

async function appWorker(context: BrowserContext): Promise<Worker> {
  return context.serviceWorkers().find((w) => w.url().startsWith(appUrl)) ?? (await context.waitForEvent('serviceworker'));
}

const messagePayload = (conversationId: string, sender: TestUser, preview: string | null, unread = 1) => ({
  kind: 'message',
  conversationId,
  messageId: '01a241f8-0bdb-75de-a2f5-dcf593d7a1f2',
  senderName: sender.name,
  preview,
  unread,
  sentAt: new Date().toISOString(),
});

/** Alice and Bob on the shared server, Bob's first message to Alice stored, and a fresh browser for Alice. */
async function bobWritesToAlice(greeting: string) {
  const t = tag();
  const alice = await registerUser(apiUrl, `Alice ${t}`);
  const bob = await registerUser(apiUrl, `Bob ${t}`);
  const conversationId = await restSend(apiUrl, bob, alice, `${greeting} ${t}`);
  return { t, alice, bob, conversationId, context: await launch() };
}

async function signedInPage(context: BrowserContext, user: TestUser): Promise<Page> {
  const page = await context.newPage();
  collectConsoleErrors(page);
  await page.goto(appUrl);
  await signIn(page, user);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  return page;
}

/** The server's copies of a conversation's messages, as its owner reads them over REST. */
async function storedMessages(user: TestUser, conversationId: string): Promise<{ id: string; content: string }[]> {
  return rest<{ id: string; content: string }[]>(
    apiUrl,
    user,
    'GET',
    `/api/messages/conversations/${encodeURIComponent(conversationId)}?limit=200`,
  );
}

/** How many entries the background-send mirror holds (its own IndexedDB database, next to the replica). */
function mirrorCount(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const dbs = await indexedDB.databases();
    const name = dbs.find((d) => d.name?.endsWith('-outbox'))?.name;
    if (!name) return 0;
    return new Promise<number>((resolve, reject) => {
      const open = indexedDB.open(name);
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        const count = db.transaction('messages').objectStore('messages').count();
        count.onsuccess = () => {
          db.close();
          resolve(count.result);
        };
      };
    });
  });
}

/**
 * The worker's token when no page is open comes from AUTH_ROUTES.refresh (cookie + device key).
 * Until the app passes the session's device key to the inbox (open-inbox.ts, the sessions work),
 * the test answers that request itself with the user's token: the worker's own fetch, the CORS
 * answer and everything after it are real.
 */
async function standInRefresh(context: BrowserContext, user: TestUser): Promise<{ calls: number }> {
  const seen = { calls: 0 };
  const origin = new URL(appUrl).origin;
  await context.route(`${apiUrl}/api/auth/refresh`, async (route) => {
    const cors = { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' };
    if (route.request().method() === 'OPTIONS') {
      await route.fulfill({
        status: 204,
        headers: { ...cors, 'access-control-allow-headers': 'content-type, x-fetchwork-auth', 'access-control-allow-methods': 'POST' },
      });
      return;
    }
    seen.calls += 1;
    await route.fulfill({
      status: 200,
      headers: { ...cors, 'content-type': 'application/json' },
      body: JSON.stringify({
        data: { token: user.token, expiresAt: Date.now() + 3_600_000, user: { id: user.id, name: user.name, email: user.email } },
      }),
    });
  });
  return seen;
}

describe('notifications', () => {
  it('subscribes on request, shows a pushed message, opens its conversation on click, and clears it', async () => {
    const { t, alice, bob, conversationId, context } = await bobWritesToAlice('Hello from Bob');
    await fakePushService(context);
    const page = await signedInPage(context, alice);

    // Never asked on load: the bell's dialog turns it on.
    expect(await page.evaluate(() => Notification.permission)).toBe('granted'); // granted to the test context, not asked
    await page.getByRole('button', { name: 'Notification settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Notifications' });
    await dialog.getByTestId('push-state').and(page.locator('[data-state="off"]')).waitFor();
    const posted = page.waitForResponse((r) => r.url().endsWith('/api/notifications/subscriptions') && r.request().method() === 'POST');
    await dialog.getByRole('button', { name: 'Turn on notifications' }).click();
    expect((await posted).status()).toBe(201);
    await dialog.getByTestId('push-state').and(page.locator('[data-state="on"]')).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();

    // The list is on screen, not the conversation: the push is shown.
    await deliverPush(page, messagePayload(conversationId, bob, `Are you free ${t}?`));
    await expect
      .poll(() => shownNotifications(page))
      .toEqual([
        {
          title: bob.name,
          body: `Are you free ${t}?`,
          tag: conversationId,
          data: { conversationId, messageId: '01a241f8-0bdb-75de-a2f5-dcf593d7a1f2' },
        },
      ]);
    // A burst replaces it (one per conversation) and says how many; private previews say "New message".
    await deliverPush(page, messagePayload(conversationId, bob, null, 3));
    await expect.poll(async () => (await shownNotifications(page)).map((n) => n.body), POLL).toEqual(['3 new messages']);

    // A click (dispatched in the worker with the shown notification) opens the conversation in the open window.
    const worker = await appWorker(context);
    await worker.evaluate(async (tagName) => {
      // Runs in the worker (WebWorker types are not in this file's lib).
      const scope = self as unknown as {
        registration: ServiceWorkerRegistration;
        dispatchEvent(e: Event): boolean;
        NotificationEvent: new (type: string, init: { notification: Notification }) => Event;
      };
      const [n] = await scope.registration.getNotifications({ tag: tagName });
      if (!n) throw new Error('no notification to click');
      scope.dispatchEvent(new scope.NotificationEvent('notificationclick', { notification: n }));
    }, conversationId);
    await page.locator('.pane-title h2', { hasText: bob.name }).waitFor();
    expect(page.url()).toContain(`#/c/${encodeURIComponent(conversationId)}`);
    await expect.poll(() => shownNotifications(page), POLL).toEqual([]);

    // Reading that conversation in this focused window: no notification for it.
    await deliverPush(page, messagePayload(conversationId, bob, `While reading ${t}`));
    await page.waitForTimeout(1500);
    expect(await shownNotifications(page)).toEqual([]);

    // Back on the list: shown again; a `clear` push (read on another device) closes it.
    // (The back button is the phone layout's; on a desktop the list is always there.)
    await page.evaluate(() => {
      location.hash = '';
    });
    await page.locator('.pane').waitFor({ state: 'detached' });
    await deliverPush(page, messagePayload(conversationId, bob, `Later ${t}`));
    await expect.poll(async () => (await shownNotifications(page)).length, POLL).toBe(1);
    await deliverPush(page, { kind: 'clear', conversationId });
    await expect.poll(() => shownNotifications(page), POLL).toEqual([]);

    // A payload that is not ours is ignored.
    await deliverPush(page, { kind: 'message', conversationId, token: 'secret' });
    await page.waitForTimeout(500);
    expect(await shownNotifications(page)).toEqual([]);

    // The address a click opens when no window is open (clients.openWindow) selects the conversation at start.
    const fresh = await context.newPage();
    await fresh.goto(`${appUrl}/#/c/${encodeURIComponent(conversationId)}`);
    await fresh.locator('.pane-title h2', { hasText: bob.name }).waitFor();
    expect(pageErrors(page)).toEqual([]);
  });

  it('a session not kept on the device ("Keep me signed in" off) is never offered push: no prompt, and the bell says why', async () => {
    const { t, alice, bob, context } = await bobWritesToAlice('Hello from Bob');
    const page = await context.newPage();
    await page.goto(appUrl);
    await signIn(page, alice, { keep: false });
    await openConversation(page, bob.name);
    await composer(page).fill(`An answer ${t}`);
    await composer(page).press('Enter');
    await waitForStatusAtLeast(messageBubble(page, `An answer ${t}`), 'sent');
    await page.getByRole('button', { name: 'Notification settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Notifications' });
    await dialog.getByTestId('push-state').and(page.locator('[data-state="not-kept"]')).waitFor();
    expect(await dialog.getByRole('button', { name: 'Turn on notifications' }).count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Turn on notifications' }).count()).toBe(0);
    expect(await page.evaluate(async () => (await (await navigator.serviceWorker.ready).pushManager.getSubscription()) === null)).toBe(
      true,
    );
  });

  it('mutes a conversation from its header, shows it in the list, and keeps an offline change until it is sent', async () => {
    const { alice, bob, conversationId, context } = await bobWritesToAlice('Hi');
    const net = await networkSwitch(context);
    const page = await signedInPage(context, alice);
    await openConversation(page, bob.name);
    const mute = page.getByRole('button', { name: 'Mute', exact: true });
    await expect.poll(() => mute.getAttribute('aria-pressed'), POLL).toBe('false');

    await net.goOffline();
    await mute.click();
    await expect.poll(() => mute.getAttribute('aria-pressed'), POLL).toBe('true');
    await page.locator(`.conversation[data-conversation-id="${conversationId}"] [data-testid="muted-mark"]`).waitFor();
    // Kept across a reload while still offline.
    await page.reload();
    await page.getByRole('heading', { name: /^Inbox/ }).waitFor();
    await page.locator(`.conversation[data-conversation-id="${conversationId}"] [data-testid="muted-mark"]`).waitFor();
    const before = await rest<{ muted: string[] }>(apiUrl, alice, 'GET', '/api/notifications/settings');
    expect(before.muted).not.toContain(conversationId);

    await net.goOnline();
    await expect
      .poll(async () => (await rest<{ muted: string[] }>(apiUrl, alice, 'GET', '/api/notifications/settings')).muted, {
        timeout: UI_TIMEOUT,
      })
      .toContain(conversationId);

    // A change on another device arrives live (notifications:settings).
    await rest(apiUrl, alice, 'PATCH', '/api/notifications/settings', { mute: { conversationId, muted: false } });
    await page.locator(`.conversation[data-conversation-id="${conversationId}"] [data-testid="muted-mark"]`).waitFor({ state: 'detached' });
    await rest(apiUrl, alice, 'PATCH', '/api/notifications/settings', { previews: 'private' });
    await page.getByRole('button', { name: 'Notification settings' }).click();
    await expect.poll(() => page.getByLabel('Private previews').isChecked(), POLL).toBe(true);
  });
});

describe('background send', () => {
  it('sends an offline message from the service worker with every page closed, stored once', async () => {
    const { t, alice, bob, conversationId, context } = await bobWritesToAlice('Hi');
    const net = await networkSwitch(context);
    const refresh = await standInRefresh(context, alice);
    const page = await signedInPage(context, alice);
    await openConversation(page, bob.name);

    await net.goOffline();
    const text = `Written offline ${t}`;
    await composer(page).fill(text);
    await composer(page).press('Enter');
    const bubble = messageBubble(page, text);
    await bubble.and(page.locator('[data-status="pending"]')).waitFor();
    await page.getByTestId('background-send-note').and(page.locator('[data-mode="background"]')).waitFor();
    await expect.poll(() => mirrorCount(page), POLL).toBe(1);
    const messageId = await bubble.getAttribute('data-message-id');

    // Every page of the app closed; a blank page (no client of the worker) drives CDP.
    await page.close();
    await net.goOnline();
    const driver = await context.newPage();
    await driver.goto('about:blank');
    await dispatchSync(driver);
    await expect
      .poll(async () => (await storedMessages(alice, conversationId)).filter((m) => m.content === text).length, { timeout: UI_TIMEOUT })
      .toBe(1);
    expect(refresh.calls).toBeGreaterThan(0);
    const stored = await storedMessages(alice, conversationId);
    expect(stored.filter((m) => m.content === text).map((m) => m.id)).toEqual([messageId]);

    // The app opens again and pushes its copy: still one row, shown as sent.
    const again = await context.newPage();
    await again.goto(appUrl);
    await again.getByRole('heading', { name: /^Inbox/ }).waitFor();
    await openConversation(again, bob.name);
    await waitForStatusAtLeast(messageBubble(again, text), 'sent');
    await again.waitForTimeout(1000);
    expect((await storedMessages(alice, conversationId)).filter((m) => m.content === text)).toHaveLength(1);
    await expect.poll(() => mirrorCount(again), POLL).toBe(0);
  });

  it('a page and the service worker draining at the same moment store each message once', async () => {
    const { t, alice, bob, conversationId, context } = await bobWritesToAlice('Hi');
    const net = await networkSwitch(context);
    const page = await signedInPage(context, alice);
    await openConversation(page, bob.name);

    // Never offered on load; offered once this device has sent a message, and "Not now" ends it.
    const offer = page.getByRole('region', { name: 'Turn on notifications' });
    expect(await offer.count()).toBe(0);

    await net.goOffline();
    const texts = [1, 2, 3].map((i) => `Race ${i} ${t}`);
    for (const text of texts) {
      await composer(page).fill(text);
      await composer(page).press('Enter');
      await messageBubble(page, text).and(page.locator('[data-status="pending"]')).waitFor();
    }
    await expect.poll(() => mirrorCount(page), POLL).toBe(3);
    await offer.waitFor();
    await offer.getByRole('button', { name: 'Not now' }).click();
    await offer.waitFor({ state: 'detached' });

    // The worker drains first (REST is back, the page's socket is not yet), then the page
    // reconnects and pushes its copies while a second drain runs: both really send, one row each.
    const fromWorker: string[] = [];
    context.on('request', (r) => {
      if (r.serviceWorker() && r.method() === 'POST' && r.url().includes('/api/messages/conversations/')) fromWorker.push(r.url());
    });
    await net.goOnlineWithoutSockets();
    await dispatchSync(page);
    await expect.poll(() => fromWorker.length, POLL).toBeGreaterThan(0);
    await Promise.all([net.goOnline(), dispatchSync(page)]);
    for (const text of texts) await waitForStatusAtLeast(messageBubble(page, text), 'sent');
    await expect
      .poll(async () => (await storedMessages(alice, conversationId)).filter((m) => texts.includes(m.content)).length, POLL)
      .toBe(3);
    await page.waitForTimeout(1500);
    const stored = (await storedMessages(alice, conversationId)).filter((m) => texts.includes(m.content));
    expect(stored.map((m) => m.content)).toEqual(texts);
    await expect.poll(() => mirrorCount(page), POLL).toBe(0);
  });
});
