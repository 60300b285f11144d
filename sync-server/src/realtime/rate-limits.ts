import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateLimitOptions {
  /** Socket events per socket per second (pull, push, typing). */
  socketEventsPerSecond: number;
  /**
   * Socket events per user per second across all of the user's sockets on this instance, so 20
   * sockets do not multiply the per-socket budget. Unset: USER_EVENTS_PER_SOCKET_BUDGET × the
   * per-socket budget.
   */
  userEventsPerSecond?: number;
  /** HTTP requests per client IP per minute. */
  httpRequestsPerMinute: number;
  /** Open sockets per user across tabs and devices (this instance). */
  socketsPerUser: number;
}

/** The per-user event budget, when not given, in per-socket budgets (a few busy tabs at once). */
export const USER_EVENTS_PER_SOCKET_BUDGET = 3;

export const DEFAULT_RATE_LIMITS: RateLimitOptions = {
  socketEventsPerSecond: 100,
  httpRequestsPerMinute: 600,
  socketsPerUser: 20,
};

/**
 * Abuse limits kept in process memory: one flooding socket or IP is slowed down without
 * touching anyone else. Per instance by design: a limit shared through Redis would put a
 * network round trip in front of every event, and a load balancer spreads one attacker's
 * connections thinly anyway.
 */
export class RateLimits {
  private readonly socketEvents: RateLimiterMemory;
  private readonly userEvents: RateLimiterMemory;
  private readonly httpRequests: RateLimiterMemory;
  private readonly socketsByUser = new Map<string, number>();

  constructor(readonly options: RateLimitOptions = DEFAULT_RATE_LIMITS) {
    this.socketEvents = new RateLimiterMemory({ points: options.socketEventsPerSecond, duration: 1 });
    this.userEvents = new RateLimiterMemory({
      points: options.userEventsPerSecond ?? USER_EVENTS_PER_SOCKET_BUDGET * options.socketEventsPerSecond,
      duration: 1,
    });
    this.httpRequests = new RateLimiterMemory({ points: options.httpRequestsPerMinute, duration: 60 });
  }

  /**
   * Resolves null when the socket may handle one more event now, else the budget it is over. An
   * event the socket's own budget refuses does not count against the user's, so one flooding
   * socket alone cannot starve the user's other sockets.
   */
  async refuseSocketEvent(socketId: string, userId: string): Promise<'socket' | 'user' | null> {
    if (!(await consume(this.socketEvents, socketId))) return 'socket';
    if (!(await consume(this.userEvents, userId))) return 'user';
    return null;
  }

  /** Resolves with 0 when allowed, else the seconds to wait. */
  async httpRetryAfter(ip: string): Promise<number> {
    try {
      await this.httpRequests.consume(ip);
      return 0;
    } catch (res) {
      if (res instanceof RateLimiterRes) return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
      throw res;
    }
  }

  /** Counts a new socket of the user; false (and not counted) when the user is at the cap. */
  openSocket(userId: string): boolean {
    const open = this.socketsByUser.get(userId) ?? 0;
    if (open >= this.options.socketsPerUser) return false;
    this.socketsByUser.set(userId, open + 1);
    return true;
  }

  closeSocket(userId: string): void {
    const open = (this.socketsByUser.get(userId) ?? 1) - 1;
    if (open <= 0) this.socketsByUser.delete(userId);
    else this.socketsByUser.set(userId, open);
  }
}

async function consume(limiter: RateLimiterMemory, key: string): Promise<boolean> {
  try {
    await limiter.consume(key);
    return true;
  } catch (res) {
    if (res instanceof RateLimiterRes) return false;
    throw res;
  }
}
