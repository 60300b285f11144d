import { Redis } from 'ioredis';
import { type FocusEntry, NOTIFIED_TTL_MS, type NotificationState } from './state';

export interface RedisNotificationStateOptions {
  /** Every key starts with this, so several deployments (or test runs) can share one Redis. */
  prefix?: string;
  /**
   * A focus not refreshed for this long no longer counts: the focus of a crashed instance's
   * sockets must not silence a user's notifications for good. Instances refresh every third of it.
   */
  focusTtlMs?: number;
}

const DEFAULT_PREFIX = 'fw:notify:';

// Expiries are Redis's clock, not the instance's, so instances with skewed clocks agree.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// Field values are "<expiry ms>:<conversation id>"; the whole hash also expires, so a user who
// leaves leaves nothing behind.
const SET_FOCUS = `${NOW}
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now + tonumber(ARGV[3])) .. ':' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
`;

const FOCUSED = `${NOW}
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local value = all[i + 1]
  local sep = string.find(value, ':', 1, true)
  if tonumber(string.sub(value, 1, sep - 1)) > now then
    table.insert(out, string.sub(value, sep + 1))
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return out
`;

// ARGV: prefix, ttl, then per socket: user id, socket id, conversation id. Per-user keys are
// built from the prefix: fine on one Redis or a replicated one, not on Redis Cluster.
const REFRESH = `${NOW}
local ttl = tonumber(ARGV[2])
local expiry = string.format('%d', now + ttl)
for i = 3, #ARGV, 3 do
  local key = ARGV[1] .. 'focus:' .. ARGV[i]
  redis.call('HSET', key, ARGV[i + 1], expiry .. ':' .. ARGV[i + 2])
  redis.call('PEXPIRE', key, ttl)
end
return 0
`;

const MARK = `${NOW}
local expiry = string.format('%d', now + tonumber(ARGV[1]))
for i = 2, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], expiry) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 0
`;

// Read and forget in one step: two instances handling two reads send one clear.
const TAKE = `${NOW}
local expiry = redis.call('HGET', KEYS[1], ARGV[1])
if not expiry then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if tonumber(expiry) > now then return 1 end
return 0
`;

const REFRESH_CHUNK = 500;

type Script = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Focus and recently-notified conversations shared by every instance through Redis. Keys (with
 * the prefix): `focus:<userId>` hash socket id → expiry and conversation; `notified:<userId>` hash
 * conversation id → expiry.
 */
export class RedisNotificationState implements NotificationState {
  readonly heartbeatMs: number;
  private readonly prefix: string;
  private readonly focusTtlMs: number;
  private readonly scripts: Record<'setFocus' | 'focused' | 'refresh' | 'mark' | 'take', Script>;

  constructor(
    private readonly redis: Redis,
    options: RedisNotificationStateOptions = {},
    private readonly ownsClient = false,
  ) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.focusTtlMs = options.focusTtlMs ?? 60_000;
    this.heartbeatMs = Math.max(1, Math.floor(this.focusTtlMs / 3));
    const define = (name: string, numberOfKeys: number, lua: string): Script => {
      const command = `fwNotify${name}`;
      redis.defineCommand(command, { numberOfKeys, lua });
      return ((redis as unknown as Record<string, Script>)[command] as Script).bind(redis);
    };
    this.scripts = {
      setFocus: define('SetFocus', 1, SET_FOCUS),
      focused: define('Focused', 1, FOCUSED),
      refresh: define('Refresh', 0, REFRESH),
      mark: define('Mark', 1, MARK),
      take: define('Take', 1, TAKE),
    };
  }

  /** Opens its own connection (closed by `close`); fails if Redis does not answer. */
  static async connect(url: string, options: RedisNotificationStateOptions = {}): Promise<RedisNotificationState> {
    // Few retries per command: a notification decision must not pile up work while Redis is away.
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await redis.connect();
    return new RedisNotificationState(redis, options, true);
  }

  private focusKey = (userId: string) => `${this.prefix}focus:${userId}`;
  private notifiedKey = (userId: string) => `${this.prefix}notified:${userId}`;

  async setFocus(userId: string, socketId: string, conversationId: string | null): Promise<void> {
    await this.scripts.setFocus(this.focusKey(userId), socketId, conversationId ?? '', this.focusTtlMs);
  }

  async focusedConversations(userId: string): Promise<Set<string>> {
    return new Set((await this.scripts.focused(this.focusKey(userId))) as string[]);
  }

  refresh(entries: readonly FocusEntry[]): Promise<void> {
    // Sent in this tick, on the connection that carries setFocus: a clear made after the snapshot
    // was taken is queued after this refresh and wins.
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < entries.length; i += REFRESH_CHUNK) {
      const args = entries.slice(i, i + REFRESH_CHUNK).flatMap((e) => [e.userId, e.socketId, e.conversationId]);
      calls.push(this.scripts.refresh(this.prefix, this.focusTtlMs, ...args));
    }
    return Promise.all(calls).then(() => undefined);
  }

  async markNotified(userId: string, conversationIds: readonly string[]): Promise<void> {
    if (conversationIds.length === 0) return;
    await this.scripts.mark(this.notifiedKey(userId), NOTIFIED_TTL_MS, ...conversationIds);
  }

  async takeNotified(userId: string, conversationId: string): Promise<boolean> {
    return (await this.scripts.take(this.notifiedKey(userId), conversationId)) === 1;
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
