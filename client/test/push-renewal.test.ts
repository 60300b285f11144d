import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversation, send, settled, startWithPush, subscribe, type User, user, VAPID } from '../../sync-server/test/notifications/setup';
import type { PushEndpoint, TestSubscription } from '../../sync-server/test/support/push-endpoint';
import type { TestServer } from '../../sync-server/test/support/test-server';
import { base64UrlToBytes } from '../src/notifications/push-server';
import type { WorkerSession } from '../src/sw/background-send';
import { renewPushSubscription } from '../src/sw/push-renewal';

/**
 * The service worker's answer to `pushsubscriptionchange`, against the real sync server and the
 * test push service (which decrypts what the server pushes). The browser's PushManager is a
 * stand-in: Chromium never fires the event without a flag, and its subscribe() never settles on
 * these machines (no route to FCM; see e2e/notifications.e2e.ts).
 */

let server: TestServer;
let push: PushEndpoint;

beforeAll(async () => {
  ({ server, push } = await startWithPush());
});

afterAll(async () => {
  await server?.stop();
  await push?.close();
});

/** What the worker's event hands over: the parts of a PushSubscription the renewal reads. */
const asBrowserSubscription = (sub: TestSubscription): PushSubscription =>
  ({
    endpoint: sub.json.endpoint,
    options: { userVisibleOnly: true, applicationServerKey: base64UrlToBytes(VAPID.publicKey).buffer },
    toJSON: () => sub.json,
  }) as unknown as PushSubscription;

/** A PushManager stand-in holding `current`, which `subscribe` replaces with `next` (or refuses). */
function pushManager(current: TestSubscription | null, next: TestSubscription | 'refused' | null = null) {
  const calls: PushSubscriptionOptionsInit[] = [];
  return {
    calls,
    getSubscription: async () => (current ? asBrowserSubscription(current) : null),
    subscribe: async (options?: PushSubscriptionOptionsInit) => {
      calls.push(options ?? {});
      if (next === 'refused' || next === null) throw new DOMException('permission denied', 'NotAllowedError');
      current = next;
      return asBrowserSubscription(next);
    },
  };
}

const sessions = (...users: { token: string; id: string }[]) =>
  async function* (): AsyncGenerator<WorkerSession> {
    for (const u of users) yield { token: u.token, userId: u.id };
  };

const endpointsOf = async (who: User) => (await server.store.pushRecords().subscriptionsOf(who.id)).map((s) => s.endpoint).sort();

describe('renewing the push subscription from the service worker', () => {
  it('posts the new subscription, removes the old one, and the next message is pushed to the new endpoint', async () => {
    const alice = user('Alice');
    const bob = user('Bob');
    const conversationId = await conversation(server, alice, bob);
    const before = await subscribe(server, bob, push);
    const after = push.subscribe();

    const result = await renewPushSubscription({
      apiUrl: server.url,
      oldSubscription: asBrowserSubscription(before),
      newSubscription: asBrowserSubscription(after),
      pushManager: pushManager(after),
      sessions: sessions(bob),
    });

    expect(result).toBe('renewed');
    expect(await endpointsOf(bob)).toEqual([after.json.endpoint]);
    const id = await send(server, alice, conversationId, 'after the rotation');
    await settled(server);
    expect(push.for(after.id).map((p) => p.payload.messageId)).toEqual([id]);
    expect(push.for(before.id)).toEqual([]);
  });

  it('without subscriptions in the event, takes the browser’s current one, or subscribes with the server’s key', async () => {
    const bob = user('Bob');
    const current = push.subscribe();
    expect(
      await renewPushSubscription({
        apiUrl: server.url,
        oldSubscription: null,
        newSubscription: null,
        pushManager: pushManager(current),
        sessions: sessions(bob),
      }),
    ).toBe('renewed');
    expect(await endpointsOf(bob)).toEqual([current.json.endpoint]);

    const carol = user('Carol');
    const made = push.subscribe();
    const manager = pushManager(null, made);
    expect(
      await renewPushSubscription({
        apiUrl: server.url,
        oldSubscription: null,
        newSubscription: null,
        pushManager: manager,
        sessions: sessions(carol),
      }),
    ).toBe('renewed');
    expect(manager.calls).toHaveLength(1);
    expect(manager.calls[0]?.userVisibleOnly).toBe(true);
    expect([...new Uint8Array(manager.calls[0]?.applicationServerKey as ArrayBuffer)]).toEqual([...base64UrlToBytes(VAPID.publicKey)]);
    expect(await endpointsOf(carol)).toEqual([made.json.endpoint]);
  });

  it('a refused token (an expired page token) falls through to the next session', async () => {
    const bob = user('Bob');
    const after = push.subscribe();
    const result = await renewPushSubscription({
      apiUrl: server.url,
      oldSubscription: null,
      newSubscription: asBrowserSubscription(after),
      pushManager: pushManager(after),
      sessions: sessions({ token: 'expired.page.token', id: bob.id }, bob),
    });
    expect(result).toBe('renewed');
    expect(await endpointsOf(bob)).toEqual([after.json.endpoint]);
  });

  it('with no session, or the permission withdrawn, posts nothing and leaves the server as it was', async () => {
    const bob = user('Bob');
    const before = await subscribe(server, bob, push);
    const after = push.subscribe();
    expect(
      await renewPushSubscription({
        apiUrl: server.url,
        oldSubscription: asBrowserSubscription(before),
        newSubscription: asBrowserSubscription(after),
        pushManager: pushManager(after),
        sessions: sessions(),
      }),
    ).toBe('no-session');
    expect(
      await renewPushSubscription({
        apiUrl: server.url,
        oldSubscription: asBrowserSubscription(before),
        newSubscription: null,
        pushManager: pushManager(null, 'refused'),
        sessions: sessions(bob),
      }),
    ).toBe('no-subscription');
    expect(await endpointsOf(bob)).toEqual([before.json.endpoint]);
  });

  it('a new subscription the server refuses throws with its status, and the old one stays', async () => {
    const bob = user('Bob');
    const before = await subscribe(server, bob, push);
    const bad = push.subscribe();
    bad.json = { ...bad.json, keys: { ...bad.json.keys, p256dh: 'not-a-key' } };
    await expect(
      renewPushSubscription({
        apiUrl: server.url,
        oldSubscription: asBrowserSubscription(before),
        newSubscription: asBrowserSubscription(bad),
        pushManager: pushManager(bad),
        sessions: sessions(bob),
      }),
    ).rejects.toThrow('subscription refused: 400');
    expect(await endpointsOf(bob)).toEqual([before.json.endpoint]);
  });
});
