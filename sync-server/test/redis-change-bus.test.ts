import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger';
import type { ChangeEvent } from '../src/sync/change-bus';
import { RedisChangeBus } from '../src/sync/redis-change-bus';
import { redisAvailable, TEST_REDIS_URL } from './support/redis';
import { waitFor } from './support/test-server';

const available = await redisAvailable();
if (!available) console.warn(`SKIPPED redis change bus tests: no Redis answers at ${TEST_REDIS_URL} (.ci/run starts one)`);

const clients: Redis[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

async function busWithSubscriberId(channel: string) {
  const pub = new Redis(TEST_REDIS_URL);
  const sub = new Redis(TEST_REDIS_URL);
  clients.push(pub, sub);
  const subscriberId = Number(await sub.call('CLIENT', 'ID'));
  return { bus: await RedisChangeBus.connect(pub, sub, createLogger('silent'), channel), subscriberId };
}
const bus = async (channel: string) => (await busWithSubscriberId(channel)).bus;

const event = (userId: string): ChangeEvent => ({
  feeds: [{ userId, collection: 'messages', prevSeq: 0, docs: [] }],
});

describe.skipIf(!available)('RedisChangeBus against a real Redis', () => {
  it('delivers an event once to the publishing instance and once to every other', async () => {
    const channel = `test:${randomUUID()}`;
    const one = await bus(channel);
    const two = await bus(channel);
    const three = await bus(channel);
    const seen: Record<string, string[]> = { one: [], two: [], three: [] };
    one.subscribe((e) => seen.one!.push(e.feeds[0]!.userId));
    two.subscribe((e) => seen.two!.push(e.feeds[0]!.userId));
    three.subscribe((e) => seen.three!.push(e.feeds[0]!.userId));
    one.publish(event('u1'));
    two.publish(event('u2'));
    await waitFor(() => seen.three!.length === 2 && seen.one!.length === 2 && seen.two!.length === 2, 'all deliveries');
    expect(seen.one!.sort()).toEqual(['u1', 'u2']);
    expect(seen.two!.sort()).toEqual(['u1', 'u2']);
    expect(seen.three!.sort()).toEqual(['u1', 'u2']);
    // Nothing further arrives (no echo of an instance's own events).
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.one).toHaveLength(2);
  });

  it('asks every local socket to resync after the subscriber reconnects', async () => {
    const channel = `test:${randomUUID()}`;
    const { bus: one, subscriberId } = await busWithSubscriberId(channel);
    const events: ChangeEvent[] = [];
    one.subscribe((e) => events.push(e));
    const killer = new Redis(TEST_REDIS_URL);
    clients.push(killer);
    // Only this test's subscriber: other suites share the Redis server.
    await killer.call('CLIENT', 'KILL', 'ID', String(subscriberId));
    await waitFor(() => events.some((e) => e.resyncAll), 'resyncAll after reconnect');
  });
});
