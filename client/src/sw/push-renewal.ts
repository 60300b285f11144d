import { base64UrlToBytes, subscriptionRequest, vapidPublicKey } from '../notifications/push-server';
import { tokenRefused, type WorkerSession } from './background-send';

export interface RenewalOptions {
  apiUrl: string;
  /** The subscription the browser dropped, when the event says (Chromium leaves it out). */
  oldSubscription: PushSubscription | null;
  /** The one it made instead, when the event says. */
  newSubscription: PushSubscription | null;
  pushManager: Pick<PushManager, 'getSubscription' | 'subscribe'>;
  /** Sessions the worker can act for, tried in order until the server takes one's token. */
  sessions: () => AsyncIterable<WorkerSession>;
  fetch?: typeof fetch;
}

export type RenewalResult =
  /** The server has this device's new subscription (and no longer the old one). */
  | 'renewed'
  /** No subscription could be made: the permission was withdrawn, or the server has push off. */
  | 'no-subscription'
  /** Nobody signed in whom the worker can act for: the app posts the subscription when it next starts. */
  | 'no-session';

/**
 * For `pushsubscriptionchange`: the push service replaced (or expired) this device's
 * subscription, most likely while no page is open. Without this the server keeps pushing to the
 * dead endpoint, the push service answers 410, the server forgets it, and the device gets no
 * notifications until the app is opened again. So the worker takes the new subscription (or
 * makes one with the server's current key), posts it with a session it can use, and removes the
 * old endpoint. Network failures throw: the event fails, and the app's start posts it again.
 */
export async function renewPushSubscription(o: RenewalOptions): Promise<RenewalResult> {
  const doFetch = o.fetch ?? fetch;
  const subscription = o.newSubscription ?? (await o.pushManager.getSubscription()) ?? (await subscribeAgain(o, doFetch));
  if (!subscription) return 'no-subscription';
  const oldEndpoint = o.oldSubscription?.endpoint;
  for await (const session of o.sessions()) {
    const res = await subscriptionRequest(o.apiUrl, session.token, 'POST', { subscription: subscription.toJSON() }, doFetch);
    // An expired page token: the next session (the refresh cookie's) may do.
    if (await tokenRefused(res)) continue;
    if (!res.ok) throw new Error(`subscription refused: ${res.status}`);
    if (oldEndpoint && oldEndpoint !== subscription.endpoint) {
      // Only tidiness: the push service answers 410 for it and the server then forgets it anyway.
      await subscriptionRequest(o.apiUrl, session.token, 'DELETE', { endpoint: oldEndpoint }, doFetch).catch(() => undefined);
    }
    return 'renewed';
  }
  return 'no-session';
}

/** A new subscription with the server's key now (a key rotated meanwhile would make the old one's useless). */
async function subscribeAgain(o: RenewalOptions, doFetch: typeof fetch): Promise<PushSubscription | null> {
  const key = await vapidPublicKey(o.apiUrl, doFetch);
  if (key === null) return null;
  try {
    return await o.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key) });
  } catch {
    // NotAllowedError: the user withdrew the permission.
    return null;
  }
}
