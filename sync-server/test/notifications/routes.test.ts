import { NOTIFICATION_ROUTES } from '@fetchwork/shared-schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushEndpoint } from '../support/push-endpoint';
import { api, startTestServer, type TestServer } from '../support/test-server';
import { conversation, focus, send, settled, socketOf, startWithPush, subscribe, user, VAPID } from './setup';

let server: TestServer;
let push: PushEndpoint;

beforeAll(async () => {
  ({ server, push } = await startWithPush());
});

afterAll(async () => {
  await server?.stop();
  await push?.close();
});

const S = NOTIFICATION_ROUTES.subscriptions;

describe('notification routes', () => {
  it('serves the VAPID public key without a token; /health says push is on', async () => {
    expect(await api(server, 'GET', NOTIFICATION_ROUTES.vapidPublicKey)).toEqual({
      status: 200,
      body: { data: { publicKey: VAPID.publicKey } },
    });
    expect((await api(server, 'GET', '/health')).body).toMatchObject({ status: 'ok', push: 'vapid' });
  });

  it('subscription and settings routes need a token', async () => {
    expect((await api(server, 'POST', S, undefined, { subscription: push.subscribe().json })).status).toBe(401);
    expect((await api(server, 'GET', NOTIFICATION_ROUTES.settings)).status).toBe(401);
  });

  it('re-posting an endpoint updates it; DELETE removes only the caller’s own', async () => {
    const bob = user('Bob');
    const carol = user('Carol');
    const sub = push.subscribe();
    expect(await api(server, 'POST', S, bob.token, { subscription: sub.json })).toEqual({
      status: 201,
      body: { data: { endpoint: sub.json.endpoint } },
    });
    expect((await api(server, 'POST', S, bob.token, { subscription: sub.json })).status).toBe(201);
    const records = server.store.pushRecords();
    expect(await records.subscriptionsOf(bob.id)).toHaveLength(1);
    expect((await api(server, 'DELETE', S, carol.token, { endpoint: sub.json.endpoint })).status).toBe(204);
    expect(await records.getSubscription(sub.json.endpoint)).toMatchObject({ userId: bob.id });
    expect((await api(server, 'DELETE', S, bob.token, { endpoint: sub.json.endpoint })).status).toBe(204);
    expect(await records.getSubscription(sub.json.endpoint)).toBeNull();
  });

  it('a user holds at most 20 subscriptions: the oldest goes', async () => {
    const bob = user('Bob');
    const subs = [];
    for (let i = 0; i < 21; i++) subs.push(await subscribe(server, bob, push));
    const held = (await server.store.pushRecords().subscriptionsOf(bob.id)).map((s) => s.endpoint);
    expect(held).toHaveLength(20);
    expect(held).not.toContain(subs[0]!.json.endpoint);
    expect(held).toContain(subs[20]!.json.endpoint);
  });

  it('bad input gets a coded error and changes nothing', async () => {
    const alice = user('Alice');
    const bob = user('Bob');
    const carol = user('Carol');
    const conversationId = await conversation(server, alice, bob);
    const good = push.subscribe().json;
    const refused = [
      { subscription: { ...good, keys: { auth: good.keys.auth } } },
      { subscription: { ...good, extra: 1 } },
      { subscription: good, extra: true },
      { subscription: { ...good, endpoint: 'http://internal.example/push' } },
      { subscription: { ...good, keys: { ...good.keys, p256dh: Buffer.alloc(65, 4).toString('base64url') } } },
      { subscription: { ...good, keys: { ...good.keys, auth: Buffer.alloc(8).toString('base64url') } } },
      {},
    ];
    for (const body of refused) {
      const res = await api(server, 'POST', S, bob.token, body);
      expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED' });
    }
    expect(await server.store.pushRecords().subscriptionsOf(bob.id)).toEqual([]);

    const foreign = await api(server, 'PATCH', NOTIFICATION_ROUTES.settings, carol.token, { mute: { conversationId, muted: true } });
    expect(foreign).toEqual({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'conversation not found' } } });
    const missing = await api(server, 'PATCH', NOTIFICATION_ROUTES.settings, carol.token, {
      mute: { conversationId: `${conversationId}x`, muted: true },
    });
    expect(missing.body).toEqual(foreign.body);
    for (const body of [{}, { previews: 'loud' }, { previews: 'private', theme: 'dark' }, { mute: { conversationId, muted: 'yes' } }]) {
      const res = await api(server, 'PATCH', NOTIFICATION_ROUTES.settings, bob.token, body);
      expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED' });
    }
    for (const who of [bob, carol]) {
      expect((await api(server, 'GET', NOTIFICATION_ROUTES.settings, who.token)).body.data).toEqual({
        previews: 'full',
        muted: [],
        updatedAt: new Date(0).toISOString(),
      });
    }

    const socket = await socketOf(server, bob);
    for (const payload of [{ conversationId: 42 }, { conversationId: null, extra: 1 }]) {
      const ack = await (socket.timeout(5000) as any).emitWithAck('notifications:focus', payload);
      expect(ack.error.code).toBe('VALIDATION_FAILED');
    }
    expect(await server.notifications.focusedConversations(bob.id)).toEqual(new Set());
    expect(await focus(socket, conversationId)).toEqual({ ok: true });
    expect(await server.notifications.focusedConversations(bob.id)).toEqual(new Set([conversationId]));
    socket.close();
  });

  it('removeSubscriptionsForSession removes that session’s devices only; ForUser removes the rest', async () => {
    const alice = user('Alice');
    const bob = user('Bob', 'session-laptop');
    const bobOnPhone = user('Bob', 'session-phone', bob.id);
    const conversationId = await conversation(server, alice, bob);
    const laptopDevice = await subscribe(server, bob, push);
    const phoneDevice = await subscribe(server, bobOnPhone, push);
    expect(await server.store.pushRecords().getSubscription(phoneDevice.json.endpoint)).toMatchObject({
      userId: bob.id,
      sessionId: 'session-phone',
    });

    expect(await server.notifications.removeSubscriptionsForSession('session-laptop')).toBe(1);
    const id = await send(server, alice, conversationId, 'after sign-out on the laptop');
    await settled(server);
    expect(push.for(laptopDevice.id)).toEqual([]);
    expect(push.for(phoneDevice.id).map((p) => p.payload.messageId)).toEqual([id]);

    expect(await server.notifications.removeSubscriptionsForUser(bob.id)).toBe(1);
    await send(server, alice, conversationId, 'after sign-out everywhere');
    await settled(server);
    expect(push.for(phoneDevice.id)).toHaveLength(1);
  });
});

describe('a server without VAPID keys', () => {
  let off: TestServer;
  beforeAll(async () => {
    off = await startTestServer();
  });
  afterAll(async () => {
    await off?.stop();
  });

  it('answers PUSH_DISABLED for the key and the subscriptions, and /health says push is off', async () => {
    const bob = user('Bob');
    const disabled = { error: { code: 'PUSH_DISABLED', message: expect.stringContaining('VAPID') } };
    expect(await api(off, 'GET', NOTIFICATION_ROUTES.vapidPublicKey)).toEqual({ status: 404, body: disabled });
    expect(await api(off, 'POST', S, bob.token, { subscription: push.subscribe().json })).toEqual({ status: 404, body: disabled });
    expect(await api(off, 'DELETE', S, bob.token, { endpoint: 'https://fcm.googleapis.com/x' })).toEqual({ status: 404, body: disabled });
    expect((await api(off, 'GET', '/health')).body).toMatchObject({ push: 'off' });
  });
});
