/// <reference lib="webworker" />
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { API_URL } from '../config';
import { databaseNameFor, REPLICA_PREFIX } from '../db/replica-name';
import { drainOutbox, RetryLater, refreshSession, type WorkerSession } from './background-send';
import type { AccessTokenAnswer, ShownConversationAnswer, WorkerToPageMessage } from './messages';
import { conversationPath, type NotificationData, notificationFor, parsePushPayload } from './notification-options';
import { isOutboxMirrorName, OUTBOX_SYNC_TAG, type OutboxMirror, openOutboxMirror, outboxMirrorNameFor } from './outbox-mirror';
import { renewPushSubscription } from './push-renewal';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Parameters<typeof precacheAndRoute>[0] };

/** Background Sync is not in TypeScript's lib (Chromium only). */
interface SyncEvent extends ExtendableEvent {
  readonly tag: string;
  readonly lastChance: boolean;
}

/** How long a page has to answer the worker before it counts as showing nothing. */
const PAGE_ANSWER_MS = 500;

// The app shell, as generateSW made it: precached, served offline, old precaches removed.
precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html')));

// registerType 'prompt': a new version waits until ReloadPrompt asks it to take over.
self.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void self.skipWaiting();
});

async function windows(): Promise<readonly WindowClient[]> {
  return self.clients.matchAll({ type: 'window', includeUncontrolled: true });
}

/** Asks a page over a MessageChannel; undefined when it does not answer in time. */
function ask<T>(client: Client, message: WorkerToPageMessage): Promise<T | undefined> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => {
      channel.port1.close();
      resolve(undefined);
    }, PAGE_ANSWER_MS);
    channel.port1.onmessage = (event) => {
      clearTimeout(timer);
      channel.port1.close();
      resolve(event.data as T);
    };
    client.postMessage(message, [channel.port2]);
  });
}

/** Whether a window of the app shows this conversation visible and focused (the user is reading it). */
async function conversationShown(conversationId: string): Promise<boolean> {
  const answers = await Promise.all(
    (await windows()).map((c) => ask<ShownConversationAnswer>(c, { type: 'fetchwork:shown-conversation' })),
  );
  return answers.some((a) => a?.conversationId === conversationId);
}

self.addEventListener('push', (event) => {
  let data: unknown = null;
  try {
    data = event.data?.json() ?? null;
  } catch {
    // not JSON: not ours
  }
  const payload = parsePushPayload(data);
  if (!payload) return;
  event.waitUntil(
    (async () => {
      if (payload.kind === 'clear') {
        for (const n of await self.registration.getNotifications({ tag: payload.conversationId })) n.close();
        return;
      }
      if (await conversationShown(payload.conversationId)) return;
      const { title, options } = notificationFor(payload);
      await self.registration.showNotification(title, options);
    })(),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const conversationId = (event.notification.data as NotificationData | null)?.conversationId;
  event.waitUntil(
    (async () => {
      const all = await windows();
      const target = all.find((c) => c.focused) ?? all.find((c) => c.visibilityState === 'visible') ?? all[0];
      if (target) {
        if (conversationId) target.postMessage({ type: 'fetchwork:open-conversation', conversationId } satisfies WorkerToPageMessage);
        // Refused without the click's user activation (a synthetic event); the page opened the conversation anyway.
        await target.focus().catch(() => undefined);
        return;
      }
      await self.clients.openWindow(conversationId ? conversationPath(conversationId) : '/');
    })(),
  );
});

/** An open page's token first (no refresh, so no cookie rotation racing the page's own). */
async function pageSession(): Promise<WorkerSession | null> {
  for (const client of await windows()) {
    const answer = await ask<AccessTokenAnswer>(client, { type: 'fetchwork:access-token' });
    if (answer?.token && answer.userId) return { token: answer.token, userId: answer.userId };
  }
  return null;
}

/** The mirrors on this device (one per signed-in user's replica; normally one). */
async function mirrorNames(): Promise<string[]> {
  // Opening a database that is not there would create it: after a sign-out it must stay gone.
  if (typeof indexedDB.databases !== 'function') return [];
  return (await indexedDB.databases()).flatMap((d) => (d.name && isOutboxMirrorName(d.name, REPLICA_PREFIX) ? [d.name] : []));
}

const ownsMirror = (session: WorkerSession | null, name: string): session is WorkerSession =>
  session !== null && outboxMirrorNameFor(databaseNameFor(session.userId)) === name;

/**
 * A token from the refresh cookie, with the device key the page left in the mirror; null when
 * there is no session the worker can use for the mirror's user (signed out, another user's
 * cookie, a host-supplied token).
 */
async function refreshedSession(name: string, mirror: OutboxMirror): Promise<WorkerSession | null> {
  const refreshed = await refreshSession(API_URL, await mirror.deviceKey());
  return ownsMirror(refreshed, name) ? refreshed : null;
}

/**
 * Sends what a mirror holds with an open page's token, else one from the refresh cookie. Nothing
 * is refreshed for an empty mirror.
 */
async function drainMirror(name: string, fromPage: WorkerSession | null): Promise<void> {
  const mirror = await openOutboxMirror(name);
  try {
    if ((await mirror.all()).length === 0) return;
    if (ownsMirror(fromPage, name) && (await drainOutbox({ apiUrl: API_URL, session: fromPage, mirror })).kind !== 'unauthorized') return;
    const refreshed = await refreshedSession(name, mirror);
    // No session the worker can use: the messages wait for the app to open.
    if (!refreshed) return;
    if ((await drainOutbox({ apiUrl: API_URL, session: refreshed, mirror })).kind === 'unauthorized') {
      throw new RetryLater('unauthorized after refresh');
    }
  } finally {
    mirror.close();
  }
}

async function drain(): Promise<void> {
  const names = await mirrorNames();
  if (names.length === 0) return;
  const fromPage = await pageSession();
  for (const name of names) await drainMirror(name, fromPage);
}

/** One drain at a time: two sync events must not send the same messages side by side. */
let draining: Promise<void> = Promise.resolve();

self.addEventListener('sync', (event) => {
  const sync = event as SyncEvent;
  if (sync.tag !== OUTBOX_SYNC_TAG) return;
  const run = draining.then(drain);
  draining = run.catch(() => undefined);
  sync.waitUntil(run);
});

/** An open page's session first, then the refresh cookie's for each user signed in on this device. */
async function* workerSessions(): AsyncGenerator<WorkerSession> {
  const fromPage = await pageSession();
  if (fromPage) yield fromPage;
  for (const name of await mirrorNames()) {
    const mirror = await openOutboxMirror(name);
    let refreshed: WorkerSession | null;
    try {
      refreshed = await refreshedSession(name, mirror);
    } finally {
      mirror.close();
    }
    if (refreshed) yield refreshed;
  }
}

// The push service replaced this device's subscription (push-renewal.ts). Firefox fires it;
// Chromium only behind a flag. Older Firefox leaves both subscriptions out of the event.
self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(
    renewPushSubscription({
      apiUrl: API_URL,
      oldSubscription: event.oldSubscription ?? null,
      newSubscription: event.newSubscription ?? null,
      pushManager: self.registration.pushManager,
      sessions: workerSessions,
    }),
  );
});

declare global {
  interface ServiceWorkerGlobalScopeEventMap {
    sync: ExtendableEvent;
  }
}
