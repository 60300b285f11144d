import { Redis } from 'ioredis';
import type { PresenceStore, SettleResult } from './presence-store';

export interface RedisPresenceOptions {
  /** Every key starts with this, so several deployments (or test runs) can share one Redis. */
  prefix?: string;
  /**
   * A socket not refreshed for this long no longer counts: that is how the sockets of a crashed
   * instance stop keeping their users online. Instances refresh every third of it.
   */
  socketTtlMs?: number;
  /** How long a last-seen time is kept after the user went offline. */
  lastSeenTtlSeconds?: number;
}

const DEFAULT_PREFIX = 'fw:presence:';
const SWEEP_PAGE = 200;
/** Users per refresh script call, so one call never blocks Redis for long. */
const REFRESH_CHUNK = 500;

// Every script reads Redis's clock, not the instance's, so instances with skewed clocks agree on
// expiries and deadlines.
const NOW = `
local function nowms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

// One going-away is settled by exactly one caller: the ZREM of the user from the online set is
// the claim, and it runs inside the script together with the checks.
const SETTLE_FN = `
local function settle(online, sockets, seen, user, now, ttl, seenTtl)
  local deadline = redis.call('ZSCORE', online, user)
  if not deadline then return {0} end
  deadline = tonumber(deadline)
  redis.call('ZREMRANGEBYSCORE', sockets, '-inf', now)
  local top = redis.call('ZRANGE', sockets, -1, -1, 'WITHSCORES')
  if #top > 0 then
    -- Alive after all: move the deadline past its sockets' expiry so sweeps stop looking at it.
    redis.call('ZADD', online, 'GT', top[2], user)
    return {0}
  end
  if deadline > now then return {1, deadline - now} end
  local at = redis.call('GET', seen)
  if not at then
    -- No orderly disconnect was recorded (the instance died): the last refresh is the best guess.
    at = string.format('%d', deadline - ttl)
    redis.call('SET', seen, at, 'EX', seenTtl)
  end
  redis.call('ZREM', online, user)
  return {2, at}
end
`;

const ADD = `${NOW}
local now = nowms()
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('DEL', KEYS[3])
local added = redis.call('ZADD', KEYS[2], 'NX', now + ttl, ARGV[1])
if added == 0 then redis.call('ZADD', KEYS[2], 'GT', now + ttl, ARGV[1]) end
return added
`;

const REMOVE = `${NOW}
local now = nowms()
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local live = redis.call('ZCARD', KEYS[1])
if live == 0 then
  redis.call('SET', KEYS[3], string.format('%d', now), 'EX', tonumber(ARGV[4]))
  redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[3]), ARGV[1])
end
return live
`;

const SETTLE = `${NOW}${SETTLE_FN}
return settle(KEYS[1], KEYS[2], KEYS[3], ARGV[1], nowms(), tonumber(ARGV[2]), tonumber(ARGV[3]))
`;

// Per-user keys are built inside the script from the prefix: fine on a single Redis or a
// replicated one, not on Redis Cluster (see docs/presence.md).
const SWEEP = `${NOW}${SETTLE_FN}
local now = nowms()
local users = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, user in ipairs(users) do
  local r = settle(KEYS[1], ARGV[1] .. 'sockets:' .. user, ARGV[1] .. 'seen:' .. user, user, now, tonumber(ARGV[2]), tonumber(ARGV[3]))
  if r[1] == 2 then
    table.insert(out, user)
    table.insert(out, r[2])
  end
end
return {#users, out}
`;

// ARGV: prefix, ttl, then per user: id, socket count, socket ids.
const REFRESH = `${NOW}
local now = nowms()
local ttl = tonumber(ARGV[2])
local out = {}
local i = 3
while i <= #ARGV do
  local user = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  local key = ARGV[1] .. 'sockets:' .. user
  for j = i + 2, i + 1 + n do redis.call('ZADD', key, now + ttl, ARGV[j]) end
  i = i + 2 + n
  redis.call('PEXPIRE', key, ttl)
  if redis.call('ZADD', KEYS[1], 'NX', now + ttl, user) == 1 then
    redis.call('DEL', ARGV[1] .. 'seen:' .. user)
    table.insert(out, user)
  else
    redis.call('ZADD', KEYS[1], 'GT', now + ttl, user)
  end
end
return out
`;

type Script = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Presence shared by every instance through Redis. Keys (with the prefix):
 * - `sockets:<userId>` sorted set, socket id → expiry (ms); the key itself expires too;
 * - `online` sorted set, userId → deadline (ms) after which the user may be settled offline if
 *   no socket is left; membership is "announced online";
 * - `seen:<userId>` last-seen time (ms), expiring after `lastSeenTtlSeconds`.
 */
export class RedisPresenceStore implements PresenceStore {
  readonly heartbeatMs: number;
  private readonly prefix: string;
  private readonly socketTtlMs: number;
  private readonly lastSeenTtlSeconds: number;
  private readonly scripts: Record<'add' | 'remove' | 'settle' | 'sweep' | 'refresh', Script>;

  constructor(
    private readonly redis: Redis,
    options: RedisPresenceOptions = {},
    private readonly ownsClient = false,
  ) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.socketTtlMs = options.socketTtlMs ?? 30_000;
    this.lastSeenTtlSeconds = options.lastSeenTtlSeconds ?? 30 * 24 * 3600;
    this.heartbeatMs = Math.max(1, Math.floor(this.socketTtlMs / 3));
    const define = (name: string, numberOfKeys: number, lua: string): Script => {
      const command = `fwPresence${name}`;
      redis.defineCommand(command, { numberOfKeys, lua });
      const fn = (redis as unknown as Record<string, Script>)[command]!;
      return fn.bind(redis);
    };
    this.scripts = {
      add: define('Add', 3, ADD),
      remove: define('Remove', 3, REMOVE),
      settle: define('Settle', 3, SETTLE),
      sweep: define('Sweep', 1, SWEEP),
      refresh: define('Refresh', 1, REFRESH),
    };
  }

  /** Opens its own connection (closed by `close`); fails if Redis does not answer. */
  static async connect(url: string, options: RedisPresenceOptions = {}): Promise<RedisPresenceStore> {
    // Few retries per command: presence is best-effort and must not pile up work while Redis is away.
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await redis.connect();
    return new RedisPresenceStore(redis, options, true);
  }

  private socketsKey = (userId: string) => `${this.prefix}sockets:${userId}`;
  private seenKey = (userId: string) => `${this.prefix}seen:${userId}`;
  private get onlineKey() {
    return `${this.prefix}online`;
  }

  async addSocket(userId: string, socketId: string): Promise<boolean> {
    const added = await this.scripts.add(this.socketsKey(userId), this.onlineKey, this.seenKey(userId), userId, socketId, this.socketTtlMs);
    return added === 1;
  }

  async removeSocket(userId: string, socketId: string, graceMs: number): Promise<number> {
    const live = await this.scripts.remove(
      this.socketsKey(userId),
      this.onlineKey,
      this.seenKey(userId),
      userId,
      socketId,
      graceMs,
      this.lastSeenTtlSeconds,
    );
    return Number(live);
  }

  async settle(userId: string): Promise<SettleResult> {
    const [kind, value] = (await this.scripts.settle(
      this.onlineKey,
      this.socketsKey(userId),
      this.seenKey(userId),
      userId,
      this.socketTtlMs,
      this.lastSeenTtlSeconds,
    )) as [number, string | number | undefined];
    if (kind === 2) return { kind: 'offline', lastSeen: msToIso(value) };
    if (kind === 1) return { kind: 'wait', ms: Math.max(1, Number(value)) };
    return { kind: 'none' };
  }

  async onlineAmong(userIds: readonly string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    const scores = await this.redis.zmscore(this.onlineKey, ...userIds);
    return userIds.filter((_, i) => scores[i] !== null);
  }

  async lastSeen(userId: string): Promise<string | null> {
    const at = await this.redis.get(this.seenKey(userId));
    return at === null ? null : msToIso(at);
  }

  refresh(sockets: ReadonlyMap<string, readonly string[]>): Promise<string[]> {
    // Built and sent in this tick: a disconnect's remove is queued on the same connection after
    // any refresh that still listed its socket, so a refresh cannot bring a closed socket back.
    const calls: Promise<unknown>[] = [];
    let args: (string | number)[] = [];
    let users = 0;
    const flush = () => {
      if (users > 0) calls.push(this.scripts.refresh(this.onlineKey, this.prefix, this.socketTtlMs, ...args));
      args = [];
      users = 0;
    };
    for (const [userId, ids] of sockets) {
      if (ids.length === 0) continue;
      args.push(userId, ids.length, ...ids);
      if (++users >= REFRESH_CHUNK) flush();
    }
    flush();
    return Promise.all(calls).then((results) => results.flatMap((r) => r as string[]));
  }

  async sweep(): Promise<{ userId: string; lastSeen: string }[]> {
    const settled: { userId: string; lastSeen: string }[] = [];
    // A bounded number of pages per sweep; whatever is left waits for the next heartbeat.
    for (let page = 0; page < 10; page++) {
      const [scanned, flat] = (await this.scripts.sweep(
        this.onlineKey,
        this.prefix,
        this.socketTtlMs,
        this.lastSeenTtlSeconds,
        SWEEP_PAGE,
      )) as [number, string[]];
      for (let i = 0; i + 1 < flat.length; i += 2) settled.push({ userId: flat[i]!, lastSeen: msToIso(flat[i + 1]) });
      if (scanned < SWEEP_PAGE || flat.length === 0) break;
    }
    return settled;
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function msToIso(value: unknown): string {
  return new Date(Number(value)).toISOString();
}
