import { NOTIFICATION_STORAGE_PREFIX } from './settings';
import { base64UrlToBytes, subscriptionRequest, vapidPublicKey } from './push-server';

/**
 * This device's Web Push subscription: asked for only when the user turns notifications on, per
 * device (a browser profile), posted to the server, removed again when turned off or at sign-out.
 */

export type PushAvailability =
  /** No service worker, Push API or Notification API here (e.g. Safari outside an installed app). */
  | 'unsupported'
  /** The server has no VAPID keys (404 PUSH_DISABLED). */
  | 'server-disabled'
  /** The user blocked notifications for this site in the browser. */
  | 'denied'
  /**
   * The session is not kept on this device ("Keep me signed in" off): it ends when the browser's
   * last tab closes, and a notification arriving after that would show the user's messages to
   * whoever uses the browser next.
   */
  | 'not-kept'
  | 'off'
  | 'on';

const deviceKey = (userId: string) => `${NOTIFICATION_STORAGE_PREFIX}device.${userId}`;

export function pushSupported(): boolean {
  return (
    typeof window !== 'undefined' &&
    typeof navigator !== 'undefined' &&
    'serviceWorker' in navigator &&
    'PushManager' in window &&
    'Notification' in window
  );
}

/** Background Sync (Chromium): an offline message goes out after every tab is closed. */
export function backgroundSyncSupported(): boolean {
  return typeof window !== 'undefined' && 'SyncManager' in window && typeof navigator !== 'undefined' && 'serviceWorker' in navigator;
}

/** Whether the user turned notifications on for this device (their choice; the permission may have changed since). */
export function deviceWantsPush(userId: string): boolean {
  try {
    return localStorage.getItem(deviceKey(userId)) === 'on';
  } catch {
    return false;
  }
}

function rememberChoice(userId: string, on: boolean): void {
  try {
    if (on) localStorage.setItem(deviceKey(userId), 'on');
    else localStorage.removeItem(deviceKey(userId));
  } catch {
    // not remembered: the subscription itself still stands
  }
}

function sameKey(subscription: PushSubscription, key: Uint8Array): boolean {
  const current = subscription.options.applicationServerKey;
  if (!current) return false;
  const a = new Uint8Array(current);
  return a.length === key.length && a.every((b, i) => b === key[i]);
}

async function registration(): Promise<ServiceWorkerRegistration | null> {
  if (!pushSupported()) return null;
  // ready never settles without a worker (dev server): do not wait for it when none is registered.
  return (await navigator.serviceWorker.getRegistration()) ? navigator.serviceWorker.ready : null;
}

export async function currentAvailability(apiUrl: string, userId: string): Promise<PushAvailability> {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const reg = await registration();
  if (!reg) return 'unsupported';
  const subscription = await reg.pushManager.getSubscription();
  if (subscription && Notification.permission === 'granted' && deviceWantsPush(userId)) return 'on';
  const key = await vapidPublicKey(apiUrl).catch(() => undefined);
  if (key === null) return 'server-disabled';
  return 'off';
}

/**
 * Turns notifications on for this device: the permission prompt (only ever from a user's click),
 * a subscription with the server's key, and the POST. Also used at start to post the existing
 * subscription again (the server may have dropped it; re-posting the same endpoint updates it).
 */
export async function enablePush(options: {
  apiUrl: string;
  token: string;
  userId: string;
  /** false at start: never prompt without the user's click. */
  ask: boolean;
  fetch?: typeof fetch;
}): Promise<PushAvailability> {
  const doFetch = options.fetch ?? fetch;
  if (!pushSupported()) return 'unsupported';
  const permission =
    options.ask && Notification.permission === 'default' ? await Notification.requestPermission() : Notification.permission;
  if (permission === 'denied') return 'denied';
  if (permission !== 'granted') return 'off';
  const reg = await registration();
  if (!reg) return 'unsupported';
  const key = await vapidPublicKey(options.apiUrl, doFetch);
  if (key === null) return 'server-disabled';
  const serverKey = base64UrlToBytes(key);
  let subscription = await reg.pushManager.getSubscription();
  // A subscription made for another key (rotated VAPID keys) is refused by the push service.
  if (subscription && !sameKey(subscription, serverKey)) {
    await subscription.unsubscribe().catch(() => false);
    subscription = null;
  }
  subscription ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: serverKey });
  const res = await subscriptionRequest(options.apiUrl, options.token, 'POST', { subscription: subscription.toJSON() }, doFetch);
  if (!res.ok) throw new Error(`subscription refused: ${res.status}`);
  rememberChoice(options.userId, true);
  return 'on';
}

/** Turns notifications off for this device (the browser's permission stays as the user set it). */
export async function disablePush(options: { apiUrl: string; token: string | null; userId: string; fetch?: typeof fetch }): Promise<void> {
  rememberChoice(options.userId, false);
  await dropSubscription(options.apiUrl, options.token, options.fetch ?? fetch);
}

async function dropSubscription(apiUrl: string, token: string | null, doFetch: typeof fetch): Promise<void> {
  const reg = await registration().catch(() => null);
  const subscription = await reg?.pushManager.getSubscription().catch(() => null);
  if (!subscription) return;
  // The browser's side first: even if the server cannot be told, this device gets nothing more.
  await subscription.unsubscribe().catch(() => false);
  if (token) await subscriptionRequest(apiUrl, token, 'DELETE', { endpoint: subscription.endpoint }, doFetch).catch(() => undefined);
}

/**
 * For sign-out (called by the app's sign-out, before the token is forgotten): unsubscribes this
 * browser, tells the server (which also drops the subscriptions of a revoked session), and
 * removes every notification key this feature kept in localStorage (settings, pending changes,
 * the per-device choice: muted conversation ids name both users). Never throws.
 */
export async function forgetPushSubscription(apiUrl: string, token: string | null): Promise<void> {
  await dropSubscription(apiUrl, token, fetch).catch(() => undefined);
  try {
    const keys: string[] = [];
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key?.startsWith(NOTIFICATION_STORAGE_PREFIX)) keys.push(key);
    }
    for (const key of keys) localStorage.removeItem(key);
  } catch {
    // no storage: nothing was kept
  }
}

/**
 * At start, for the sessions that ended without a sign-out (a session not kept on the device
 * ends when its last tab closes): nobody signed in here must get notifications on this device,
 * and nothing of theirs stays in localStorage. With no session left, the browser's subscription
 * is dropped (the push service then answers 410 and the server forgets it); keys of users other
 * than `keepUserIds` are removed. Never throws.
 */
export async function forgetAbandonedNotifications(keepUserIds: readonly string[]): Promise<void> {
  try {
    const keys: string[] = [];
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key?.startsWith(NOTIFICATION_STORAGE_PREFIX) && !keepUserIds.some((id) => key.endsWith(id))) keys.push(key);
    }
    for (const key of keys) localStorage.removeItem(key);
  } catch {
    // no storage: nothing was kept
  }
  if (keepUserIds.length === 0) await dropSubscription('', null, fetch).catch(() => undefined);
}
