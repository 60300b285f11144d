import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushEndpoint } from '../support/push-endpoint';
import type { TestServer } from '../support/test-server';
import { conversation, send, settled, startWithPush, subscribe, TEST_NOTIFICATIONS, user } from './setup';

const PER_USER = 5;
const CONVERSATIONS = 8;
const ROUNDS = 4;

let server: TestServer;
let push: PushEndpoint;

beforeAll(async () => {
  ({ server, push } = await startWithPush({
    // Eight conversations with one person who never answers: past the default limit on unanswered ones.
    conversationLimits: { unansweredPerPair: CONVERSATIONS },
    notifications: {
      ...TEST_NOTIFICATIONS,
      queue: { ...TEST_NOTIFICATIONS.queue, concurrency: 1, maxPendingPerUser: PER_USER, maxPending: 50 },
    },
  }));
});

afterAll(async () => {
  await server?.stop();
  await push?.close();
});

describe('a flood of messages to one user while the push service is slow', () => {
  it('keeps the queue within its per-user bound, and what survives is the newest message of each conversation', async () => {
    const alice = user('Alice');
    const bob = user('Bob');
    const device = await subscribe(server, bob, push);
    const conversations: string[] = [];
    for (let c = 0; c < CONVERSATIONS; c++)
      conversations.push(await conversation(server, alice, bob, `aaaaaaaaaaaaaaaaaaaaaa${c.toString().padStart(2, '0')}`));
    const release = push.hold();
    const newest = new Map<string, string>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const conversationId of conversations) newest.set(conversationId, await send(server, alice, conversationId, `round ${round}`));
    }
    // Everything is decided and queued (or dropped) while the first push is still held.
    await server.notifications.decided();
    const stats = server.notifications.queueStats()!;
    expect(stats.highWater.perUser).toBe(PER_USER);
    expect(stats.pending).toBeLessThanOrEqual(PER_USER);
    release();
    await settled(server);

    const received = push.for(device.id).map((p) => p.payload);
    // The one in flight when the flood began, plus at most the bound.
    expect(received.length).toBeLessThanOrEqual(1 + PER_USER);
    const last = new Map(received.map((p) => [p.conversationId, p.messageId]));
    const survivors = conversations.slice(-PER_USER);
    for (const c of survivors) expect(last.get(c)).toBe(newest.get(c));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/fetchwork_web_push_total\{outcome="dropped"\} [1-9]/);
    expect(metrics).toMatch(/fetchwork_web_push_queue_depth\{state="pending"\} 0/);
  });
});
