import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryNotificationState } from '../../src/notifications/memory-state';
import { RedisNotificationState } from '../../src/notifications/redis-state';
import type { NotificationState } from '../../src/notifications/state';
import { redisAvailable, TEST_REDIS_URL } from '../support/redis';
import { waitFor } from '../support/test-server';

const available = await redisAvailable();
if (!available) console.warn(`SKIPPED Redis notification state tests: no Redis answers at ${TEST_REDIS_URL} (.ci/run starts one)`);

const prefixes: string[] = [];
const opened: NotificationState[] = [];

function redisState(focusTtlMs?: number): RedisNotificationState {
  const prefix = `test:notify-state:${randomUUID()}:`;
  prefixes.push(prefix);
  const state = new RedisNotificationState(new Redis(TEST_REDIS_URL), { prefix, focusTtlMs }, true);
  opened.push(state);
  return state;
}

afterAll(async () => {
  for (const s of opened) await s.close();
  if (!available) return;
  const redis = new Redis(TEST_REDIS_URL);
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
});

const targets: [string, () => NotificationState, boolean][] = [
  ['memory', () => new MemoryNotificationState(), true],
  ['Redis', () => redisState(), available],
];

for (const [name, make, run] of targets) {
  describe.skipIf(!run)(`notification state: ${name}`, () => {
    it('tracks focus per socket: any socket focusing a conversation counts, null clears only that socket', async () => {
      const state = make();
      await state.setFocus('u1', 's1', 'c1');
      await state.setFocus('u1', 's2', 'c2');
      await state.setFocus('u2', 's3', 'c3');
      expect(await state.focusedConversations('u1')).toEqual(new Set(['c1', 'c2']));
      await state.setFocus('u1', 's1', 'c2');
      await state.setFocus('u1', 's2', null);
      expect(await state.focusedConversations('u1')).toEqual(new Set(['c2']));
      await state.setFocus('u1', 's1', null);
      expect(await state.focusedConversations('u1')).toEqual(new Set());
      expect(await state.focusedConversations('u2')).toEqual(new Set(['c3']));
    });

    it('a notified conversation is taken once', async () => {
      const state = make();
      await state.markNotified('u1', ['c1', 'c2']);
      expect(await state.takeNotified('u1', 'c1')).toBe(true);
      expect(await state.takeNotified('u1', 'c1')).toBe(false);
      expect(await state.takeNotified('u2', 'c2')).toBe(false);
      expect(await state.takeNotified('u1', 'c2')).toBe(true);
    });
  });
}

describe.skipIf(!available)('Redis notification state: expiry', () => {
  it("forgets a focus nobody refreshes (an instance that died), and a refresh brings a live socket's back", async () => {
    const state = redisState(200);
    await state.setFocus('u1', 's1', 'c1');
    expect(await state.focusedConversations('u1')).toEqual(new Set(['c1']));
    await waitFor(async () => (await state.focusedConversations('u1')).size === 0, 'the focus to expire');
    await state.refresh([{ userId: 'u1', socketId: 's1', conversationId: 'c1' }]);
    expect(await state.focusedConversations('u1')).toEqual(new Set(['c1']));
  });
});
