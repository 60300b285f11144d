import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryPresenceStore, type PresenceStore, RedisPresenceStore } from '../src/realtime/presence';
import { converse, newUser, openTab, presenceOf, serverSockets, settled, startPresenceServer, type Tab } from './support/presence';
import { redisAvailable, TEST_REDIS_URL } from './support/redis';
import type { TestServer } from './support/test-server';
import { waitFor } from './support/test-server';

const redisUp = await redisAvailable();
if (!redisUp) {
  console.warn(
    `SKIPPED Redis presence tests: no Redis answers at ${TEST_REDIS_URL} (start redis-server or set REDIS_URL; .ci/run starts one)`,
  );
}

// Cleanup ------------------------------------------------------------------------------------

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

/** A Redis store on its own connection; every test gets its own prefix, so suites share one Redis. */
function redisStore(prefix: string, socketTtlMs?: number): RedisPresenceStore {
  const store = new RedisPresenceStore(new Redis(TEST_REDIS_URL), { prefix, socketTtlMs }, true);
  cleanups.push(() => store.close());
  return store;
}

function newPrefix(): string {
  const prefix = `test:presence:${randomUUID()}:`;
  cleanups.push(() => deleteKeys(prefix));
  return prefix;
}

interface Impl {
  name: string;
  needsRedis: boolean;
  /** Two views of one shared presence state, as two instances see it. */
  pair(): [PresenceStore, PresenceStore];
}

const impls: Impl[] = [
  {
    name: 'in-memory',
    needsRedis: false,
    pair() {
      const store = new MemoryPresenceStore();
      return [store, store];
    },
  },
  {
    name: 'Redis',
    needsRedis: true,
    pair() {
      const prefix = newPrefix();
      return [redisStore(prefix), redisStore(prefix)];
    },
  },
];

const LONG_GRACE = 60_000;
const isIso = (s: unknown) => typeof s === 'string' && new Date(s).toISOString() === s;

// The store contract -------------------------------------------------------------------------

for (const impl of impls) {
  describe.skipIf(impl.needsRedis && !redisUp)(`PresenceStore contract: ${impl.name}`, () => {
    it('counts sockets per user across instances and announces only the first', async () => {
      const [one, two] = impl.pair();
      const a = newUser().id;
      const b = newUser().id;
      expect(await one.addSocket(a, 's1')).toBe(true);
      expect(await two.addSocket(a, 's2')).toBe(false);
      expect(await one.addSocket(a, 's3')).toBe(false);
      expect(await two.addSocket(b, 's4')).toBe(true);
      expect((await one.onlineAmong([a, b, 'nobody'])).sort()).toEqual([a, b].sort());
      expect(await two.removeSocket(a, 's1', LONG_GRACE)).toBe(2);
      expect(await one.removeSocket(a, 's3', LONG_GRACE)).toBe(1);
      expect(await one.settle(a)).toEqual({ kind: 'none' });
      expect(await one.onlineAmong([a])).toEqual([a]);
    });

    it('keeps the user online through the grace, then settles offline once with lastSeen', async () => {
      const [one, two] = impl.pair();
      const a = newUser().id;
      await one.addSocket(a, 's1');
      expect(await one.lastSeen(a)).toBeNull();
      const before = Date.now();
      expect(await one.removeSocket(a, 's1', LONG_GRACE)).toBe(0);
      const after = Date.now();
      // Inside the grace: still announced online, and settling must wait.
      expect(await two.onlineAmong([a])).toEqual([a]);
      const early = await two.settle(a);
      expect(early.kind).toBe('wait');
      expect(await two.sweep()).toEqual([]);
      // A grace of 0 from a later disconnect: settle now.
      await one.addSocket(a, 's2');
      await one.removeSocket(a, 's2', 0);
      const settledAt = Date.now();
      const results = await Promise.all([one.settle(a), two.settle(a), one.settle(a)]);
      const offline = results.filter((r) => r.kind === 'offline');
      expect(offline).toHaveLength(1);
      const lastSeen = (offline[0] as { lastSeen: string }).lastSeen;
      expect(isIso(lastSeen)).toBe(true);
      expect(Date.parse(lastSeen)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(lastSeen)).toBeLessThanOrEqual(settledAt);
      expect(Date.parse(lastSeen)).toBeGreaterThanOrEqual(after);
      expect(await one.onlineAmong([a])).toEqual([]);
      expect(await two.lastSeen(a)).toBe(lastSeen);
      expect(await two.settle(a)).toEqual({ kind: 'none' });
      expect(await two.sweep()).toEqual([]);
    });

    it('a socket back inside the grace announces nothing and cancels the going-away', async () => {
      const [one, two] = impl.pair();
      const a = newUser().id;
      expect(await one.addSocket(a, 's1')).toBe(true);
      expect(await one.removeSocket(a, 's1', 0)).toBe(0);
      expect(await two.addSocket(a, 's2')).toBe(false);
      expect(await one.settle(a)).toEqual({ kind: 'none' });
      expect(await one.sweep()).toEqual([]);
      expect(await one.onlineAmong([a])).toEqual([a]);
      expect(await one.lastSeen(a)).toBeNull();
    });

    it('a sweep settles a going-away whose timer never ran, once across instances', async () => {
      const [one, two] = impl.pair();
      const a = newUser().id;
      await one.addSocket(a, 's1');
      await one.removeSocket(a, 's1', 0);
      const [x, y] = await Promise.all([one.sweep(), two.sweep()]);
      const all = [...x, ...y].filter((r) => r.userId === a);
      expect(all).toHaveLength(1);
      expect(isIso(all[0]!.lastSeen)).toBe(true);
      expect(await one.onlineAmong([a])).toEqual([]);
    });

    it('refresh brings back sockets the store lost and reports those users as online again', async () => {
      const [one] = impl.pair();
      const a = newUser().id;
      const b = newUser().id;
      await one.addSocket(b, 'sb');
      expect(
        await one.refresh(
          new Map([
            [a, ['sa']],
            [b, ['sb']],
          ]),
        ),
      ).toEqual([a]);
      expect(
        await one.refresh(
          new Map([
            [a, ['sa']],
            [b, ['sb']],
          ]),
        ),
      ).toEqual([]);
      expect((await one.onlineAmong([a, b])).sort()).toEqual([a, b].sort());
      expect(await one.removeSocket(a, 'sa', LONG_GRACE)).toBe(0);
    });

    it('an unknown user is offline, never seen, and settles to nothing', async () => {
      const [one] = impl.pair();
      const a = newUser().id;
      expect(await one.onlineAmong([a])).toEqual([]);
      expect(await one.lastSeen(a)).toBeNull();
      expect(await one.settle(a)).toEqual({ kind: 'none' });
      expect(await one.removeSocket(a, 'never-added', 0)).toBe(0);
      expect(await one.onlineAmong([a])).toEqual([]);
    });
  });
}

describe.skipIf(!redisUp)('RedisPresenceStore specifics', () => {
  it('keeps every key under its prefix, with an expiry on all per-user keys', async () => {
    const prefix = newPrefix();
    const store = redisStore(prefix, 30_000);
    const a = newUser().id;
    await store.addSocket(a, 's1');
    await store.addSocket(a, 's2');
    await store.removeSocket(a, 's1', 0);
    const b = newUser().id;
    await store.addSocket(b, 's3');
    await store.removeSocket(b, 's3', LONG_GRACE);
    const redis = new Redis(TEST_REDIS_URL);
    cleanups.push(async () => redis.disconnect());
    const keys = (await redis.keys(`${prefix}*`)).sort();
    expect(keys).toEqual([`${prefix}online`, `${prefix}seen:${b}`, `${prefix}sockets:${a}`].sort());
    const socketsTtl = await redis.pttl(`${prefix}sockets:${a}`);
    expect(socketsTtl).toBeGreaterThan(0);
    expect(socketsTtl).toBeLessThanOrEqual(30_000);
    expect(await redis.ttl(`${prefix}seen:${b}`)).toBeGreaterThan(0);
  });

  it('a dead instance’s sockets expire: another instance’s sweep settles its users, a live one’s refresh keeps them', async () => {
    const prefix = newPrefix();
    const ttl = 1_500;
    const dead = redisStore(prefix, ttl);
    const live = redisStore(prefix, ttl);
    const a = newUser().id;
    const b = newUser().id;
    expect(await dead.addSocket(a, 'dead-socket')).toBe(true);
    expect(await live.addSocket(b, 'live-socket')).toBe(true);
    // The live instance refreshes far more often than the TTL; the dead one never does.
    let refreshing = true;
    const refresher = (async () => {
      while (refreshing) {
        await live.refresh(new Map([[b, ['live-socket']]]));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    cleanups.push(async () => {
      refreshing = false;
      await refresher;
    });
    const swept: { userId: string; lastSeen: string }[] = [];
    await waitFor(async () => {
      swept.push(...(await live.sweep()));
      return swept.some((s) => s.userId === a);
    }, 'the dead instance’s user to be swept');
    expect(swept.map((s) => s.userId)).toEqual([a]);
    expect(isIso(swept[0]!.lastSeen)).toBe(true);
    expect(await live.onlineAmong([a, b])).toEqual([b]);
    // B's socket itself is still counted, not only B's online mark.
    expect(await live.removeSocket(b, 'not-a-socket', LONG_GRACE)).toBe(1);
    expect(await live.lastSeen(a)).toBe(swept[0]!.lastSeen);
  });
});

// Over real sockets ----------------------------------------------------------------------------

interface ServerKind {
  name: string;
  needsRedis: boolean;
  store(): PresenceStore | undefined;
}

const serverKinds: ServerKind[] = [
  { name: 'in-memory store', needsRedis: false, store: () => undefined },
  { name: 'Redis store', needsRedis: true, store: () => redisStore(newPrefix()) },
];

const tabs: Tab[] = [];
async function tab(server: TestServer, token: string): Promise<Tab> {
  const t = await openTab(server, token);
  tabs.push(t);
  return t;
}
afterEach(() => {
  for (const t of tabs.splice(0)) t.socket.close();
});

for (const kind of serverKinds) {
  describe.skipIf(kind.needsRedis && !redisUp)(`presence over sockets (${kind.name})`, () => {
    async function server(graceMs: number): Promise<TestServer> {
      const s = await startPresenceServer({ graceMs, store: kind.store() });
      cleanups.push(() => s.stop());
      return s;
    }

    it('two tabs of A, B watching: closing one keeps A online; closing both makes A offline once, with lastSeen', async () => {
      const s = await server(100);
      const [a, b, c] = [newUser(), newUser(), newUser()];
      await converse(s, a, b);
      await converse(s, b, c);
      const bTab = await tab(s, b.token);
      await waitFor(() => bTab.of('presence:state').length === 1, 'B’s presence state');
      expect(bTab.of('presence:state')).toEqual([{ online: [] }]);
      const cTab = await tab(s, c.token);
      await waitFor(() => presenceOf(bTab, c.id).length === 1, 'B to see C online');

      const a1 = await tab(s, a.token);
      await waitFor(() => presenceOf(bTab, a.id).length === 1, 'B to see A online');
      await waitFor(() => a1.of('presence:state').length === 1, 'A’s presence state');
      expect(a1.of('presence:state')[0].online).toEqual([b.id]);
      const a2 = await tab(s, a.token);
      await waitFor(() => a2.of('presence:state').length === 1, 'A’s second tab presence state');
      expect(a2.of('presence:state')[0].online).toEqual([b.id]);

      a1.socket.close();
      await serverSockets(s, 3);
      await settled(s, bTab);
      expect(presenceOf(bTab, a.id)).toEqual(['user:online']);
      expect(await s.presence.store.onlineAmong([a.id])).toEqual([a.id]);

      const closedAt = Date.now();
      a2.socket.close();
      await waitFor(() => bTab.of('user:offline').length === 1, 'B to see A offline');
      await settled(s, bTab, cTab);
      expect(presenceOf(bTab, a.id)).toEqual(['user:online', 'user:offline']);
      const offline = bTab.of('user:offline')[0];
      expect(offline.userId).toBe(a.id);
      expect(isIso(offline.lastSeen)).toBe(true);
      expect(Date.parse(offline.lastSeen)).toBeGreaterThanOrEqual(closedAt);
      expect(await s.presence.store.lastSeen(a.id)).toBe(offline.lastSeen);
      // C shares no conversation with A and hears nothing about A.
      expect(presenceOf(cTab, a.id)).toEqual([]);
      // A new tab of B starts from the current state: A is not in it.
      const bTab2 = await tab(s, b.token);
      await waitFor(() => bTab2.of('presence:state').length === 1, 'B’s new tab state');
      expect(bTab2.of('presence:state')[0].online).toEqual([c.id]);
    });

    it('a reload inside the grace period does not flash offline', async () => {
      const s = await server(10_000);
      const [a, b] = [newUser(), newUser()];
      await converse(s, a, b);
      const bTab = await tab(s, b.token);
      const a1 = await tab(s, a.token);
      await waitFor(() => presenceOf(bTab, a.id).length === 1, 'B to see A online');
      a1.socket.close();
      await serverSockets(s, 1);
      const a2 = await tab(s, a.token);
      await waitFor(() => a2.of('presence:state').length === 1, 'A’s reloaded tab state');
      // idle() includes grace timers: a timer that should have been cancelled would fire here.
      await settled(s, bTab);
      expect(presenceOf(bTab, a.id)).toEqual(['user:online']);
      expect(a2.of('presence:state')[0].online).toEqual([b.id]);
    });

    it('a connecting socket receives the online contacts only, and new contacts are announced', async () => {
      const s = await server(100);
      const [a, b, c, d] = [newUser(), newUser(), newUser(), newUser()];
      await converse(s, a, b);
      await converse(s, d, b);
      const aTab = await tab(s, a.token);
      const cTab = await tab(s, c.token);
      await settled(s, aTab, cTab);
      const bTab = await tab(s, b.token);
      await waitFor(() => bTab.of('presence:state').length === 1, 'B’s presence state');
      // A is a contact and online; D is a contact but offline; C is online but no contact.
      expect(bTab.of('presence:state')[0]).toEqual({ online: [a.id] });
      expect(presenceOf(cTab, b.id)).toEqual([]);

      // C and B start a conversation: each learns the other is online.
      await converse(s, c, b);
      await waitFor(() => presenceOf(bTab, c.id).length === 1, 'B to learn C is online');
      await waitFor(() => presenceOf(cTab, b.id).length === 1, 'C to learn B is online');
      await settled(s, bTab, cTab);
      expect(presenceOf(bTab, c.id)).toEqual(['user:online']);
      expect(presenceOf(cTab, b.id)).toEqual(['user:online']);
    });
  });
}

describe.skipIf(!redisUp)('presence over sockets: a crashed instance', () => {
  it('users whose instance died are announced offline by a live instance’s sweep', async () => {
    const prefix = newPrefix();
    // Short TTL so the live server refreshes and sweeps every 200 ms.
    const s = await startPresenceServer({ graceMs: 100, store: redisStore(prefix, 600) });
    cleanups.push(() => s.stop());
    const [a, b] = [newUser(), newUser()];
    await converse(s, a, b);
    // A is connected to an instance that then dies: its socket is in Redis and never refreshed.
    const dead = redisStore(prefix, 600);
    expect(await dead.addSocket(a.id, 'socket-on-dead-instance')).toBe(true);
    const bTab = await tab(s, b.token);
    await waitFor(() => bTab.of('presence:state').length === 1, 'B’s presence state');
    expect(bTab.of('presence:state')[0]).toEqual({ online: [a.id] });
    await waitFor(() => bTab.of('user:offline').length === 1, 'B to see A offline after the dead instance’s TTL');
    expect(bTab.of('user:offline')[0].userId).toBe(a.id);
    expect(isIso(bTab.of('user:offline')[0].lastSeen)).toBe(true);
  });
});
