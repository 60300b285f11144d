import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PushEndpoint, startPushEndpoint } from '../support/push-endpoint';
import { redisAvailable, TEST_REDIS_URL } from '../support/redis';
import { api, startTestServer, type TestServer } from '../support/test-server';
import { conversation, focus, send, settled, socketOf, subscribe, TEST_NOTIFICATIONS, user, VAPID } from './setup';

const available = await redisAvailable();
if (!available) console.warn(`SKIPPED two-instance Web Push tests: no Redis answers at ${TEST_REDIS_URL} (.ci/run starts one)`);

/** This run's focus keys, apart from every other suite sharing the Redis. */
const prefix = `test:notify:${randomUUID()}:`;
let one: TestServer;
let two: TestServer;
let push: PushEndpoint;

beforeAll(async () => {
  if (!available) return;
  push = await startPushEndpoint(VAPID.publicKey);
  const notifications = { ...TEST_NOTIFICATIONS, redisPrefix: prefix };
  one = await startTestServer({ redisUrl: TEST_REDIS_URL, notifications });
  // One store for both (one SQLite file; BEGIN IMMEDIATE serialises the writers), one Redis.
  two = await startTestServer({ redisUrl: TEST_REDIS_URL, notifications, sqlitePath: one.sqlitePath });
}, 30_000);

afterAll(async () => {
  if (!available) return;
  await two?.stop();
  await one?.stop();
  await push?.close();
  const redis = new Redis(TEST_REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe.skipIf(!available)('two instances sharing Redis and a store', () => {
  it('each message is pushed once per device, whichever instance commits it', async () => {
    const alice = user('Alice');
    const bob = user('Bob');
    const conversationId = await conversation(one, alice, bob);
    const phone = await subscribe(one, bob, push);
    const laptop = await subscribe(two, bob, push);
    const sent: string[] = [];
    for (const [i, via] of [one, two, one, two].entries()) {
      sent.push(await send(via, alice, conversationId, `message ${i}`));
      // One at a time: queued pushes of one conversation would otherwise (rightly) merge.
      await settled(one, two);
    }
    expect(push.refused).toEqual([]);
    expect(push.for(phone.id).map((p) => p.payload.messageId)).toEqual(sent);
    expect(push.for(laptop.id).map((p) => p.payload.messageId)).toEqual(sent);
  });

  it("a conversation focused on a socket of one instance holds back the other instance's push; a read on one clears what the other notified", async () => {
    const alice = user('Alice');
    const bob = user('Bob');
    const conversationId = await conversation(one, alice, bob);
    const device = await subscribe(one, bob, push);
    const socket = await socketOf(one, bob);
    expect(await focus(socket, conversationId)).toEqual({ ok: true });
    await send(two, alice, conversationId, 'seen on screen');
    await settled(one, two);
    expect(push.for(device.id)).toEqual([]);
    expect(await focus(socket, null)).toEqual({ ok: true });
    socket.close();

    const id = await send(two, alice, conversationId, 'not on screen');
    await settled(one, two);
    const read = await api(one, 'POST', `/api/messages/conversations/${encodeURIComponent(conversationId)}/read`, bob.token);
    expect(read.status).toBe(200);
    await settled(one, two);
    expect(push.for(device.id).map((p) => p.payload)).toEqual([
      expect.objectContaining({ kind: 'message', messageId: id }),
      { kind: 'clear', conversationId },
    ]);
  });

  it('a settings change reaches the user’s sockets on the other instance', async () => {
    const bob = user('Bob');
    const socket = await socketOf(two, bob);
    const announced = new Promise<any>((resolve) => socket.once('notifications:settings', resolve));
    const res = await api(one, 'PATCH', '/api/notifications/settings', bob.token, { previews: 'private' });
    expect(await announced).toEqual(res.body.data);
    socket.close();
  });
});
