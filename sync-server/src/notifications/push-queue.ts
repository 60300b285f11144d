import type { NotificationPushPayload } from '@fetchwork/shared-schema';
import type { Logger } from '../logger';
import type { PushTarget } from './push-sender';

/** One push for one device about one conversation. */
export interface PushJob {
  target: PushTarget;
  userId: string;
  conversationId: string;
  payload: NotificationPushPayload;
  /**
   * The feed sequence of the change that caused it: of two jobs for the same device and
   * conversation the higher one is the newer and replaces the other, whatever order they came in.
   */
  order: number;
}

export type DeliveryResult = { kind: 'done' } | { kind: 'retry'; afterMs: number | null };

export interface PushQueueOptions {
  /** Pushes being sent at once. */
  concurrency: number;
  /** Jobs waiting (ready or backing off) on this instance. */
  maxPending: number;
  /** Jobs waiting for one user's devices. */
  maxPendingPerUser: number;
  /** Tries per job, the first included. */
  maxAttempts: number;
  /** Backoff before retry n is up to baseDelayMs · 2^(n-1) (full jitter), at most maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_PUSH_QUEUE_OPTIONS: PushQueueOptions = {
  concurrency: 8,
  maxPending: 10_000,
  maxPendingPerUser: 100,
  maxAttempts: 4,
  baseDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
};

export interface PushQueueEvents {
  deliver(job: PushJob): Promise<DeliveryResult>;
  /** The last try failed; the job is dropped. */
  gaveUp(job: PushJob): void;
  dropped(job: PushJob, reason: 'user' | 'global' | 'closing'): void;
  coalesced(): void;
}

interface Entry {
  key: string;
  job: PushJob;
  attempts: number;
  timer: NodeJS.Timeout | null;
}

export interface PushQueueStats {
  pending: number;
  inFlight: number;
  /** The most jobs ever waiting at once, in all and for any one user (what the bounds promise). */
  highWater: { pending: number; perUser: number };
}

const keyOf = (job: PushJob) => `${job.target.endpoint}\u0000${job.conversationId}`;

/**
 * Pushes waiting to be sent, off the message path. Enqueueing is O(1): a job for a device and
 * conversation that already has one waiting replaces it (the newest wins, so a burst becomes one
 * push carrying the latest preview and count). Bounded per user and in all: beyond a bound the
 * least recently updated job goes. At most `concurrency` sends run at once; 429/5xx/no answer are
 * retried with exponential backoff and full jitter, never sooner than Retry-After.
 */
export class PushQueue {
  /** Every waiting job, least recently updated first. */
  private readonly pending = new Map<string, Entry>();
  /** The waiting jobs that may be sent now, in arrival order. */
  private readonly ready = new Map<string, Entry>();
  private readonly perUser = new Map<string, Map<string, Entry>>();
  private running = 0;
  private closed = false;
  private readonly highWater = { pending: 0, perUser: 0 };
  private idleWaiters: (() => void)[] = [];
  private readonly runningWork = new Set<Promise<void>>();

  constructor(
    private readonly events: PushQueueEvents,
    private readonly log: Logger,
    private readonly options: PushQueueOptions = DEFAULT_PUSH_QUEUE_OPTIONS,
    private readonly random: () => number = Math.random,
  ) {}

  enqueue(job: PushJob): void {
    if (this.closed) return;
    const key = keyOf(job);
    const existing = this.pending.get(key);
    if (existing) {
      if (job.order < existing.job.order) return;
      existing.job = job;
      this.touch(existing);
      this.events.coalesced();
      return;
    }
    const entry: Entry = { key, job, attempts: 0, timer: null };
    this.add(entry);
    this.ready.set(key, entry);
    this.pump();
  }

  /** Forgets waiting jobs for these endpoints (their subscriptions were removed). */
  dropEndpoints(endpoints: ReadonlySet<string>): void {
    if (endpoints.size === 0) return;
    for (const entry of [...this.pending.values()]) if (endpoints.has(entry.job.target.endpoint)) this.remove(entry);
    this.settle();
  }

  stats(): PushQueueStats {
    return { pending: this.pending.size, inFlight: this.running, highWater: { ...this.highWater } };
  }

  /** Resolves when nothing waits and nothing is being sent (retries included). */
  idle(): Promise<void> {
    if (this.pending.size === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops: waiting jobs are dropped (they live in memory only; see docs/operations.md) and sends
   * under way get up to `graceMs` to finish.
   */
  async close(graceMs = 2_000): Promise<void> {
    this.closed = true;
    if (this.pending.size > 0) this.log.warn({ lost: this.pending.size }, 'push queue closed with pushes waiting: they are not sent');
    for (const entry of [...this.pending.values()]) {
      this.remove(entry);
      this.events.dropped(entry.job, 'closing');
    }
    const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.all(this.runningWork), grace]);
    this.settle();
  }

  private add(entry: Entry): void {
    this.pending.set(entry.key, entry);
    let mine = this.perUser.get(entry.job.userId);
    if (!mine) {
      mine = new Map();
      this.perUser.set(entry.job.userId, mine);
    }
    mine.set(entry.key, entry);
    // Over a bound, the least recently updated job goes: the newest news of every conversation
    // that stays is still delivered.
    while (mine.size > this.options.maxPendingPerUser) this.drop(mine.values().next().value!, 'user');
    while (this.pending.size > this.options.maxPending) this.drop(this.pending.values().next().value!, 'global');
    this.highWater.pending = Math.max(this.highWater.pending, this.pending.size);
    this.highWater.perUser = Math.max(this.highWater.perUser, this.perUser.get(entry.job.userId)?.size ?? 0);
  }

  /** Moves an updated job to the recent end of the bounds' order (its place to be sent stays). */
  private touch(entry: Entry): void {
    this.pending.delete(entry.key);
    this.pending.set(entry.key, entry);
    const mine = this.perUser.get(entry.job.userId)!;
    mine.delete(entry.key);
    mine.set(entry.key, entry);
  }

  private drop(entry: Entry, reason: 'user' | 'global'): void {
    this.remove(entry);
    this.events.dropped(entry.job, reason);
  }

  private remove(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    this.pending.delete(entry.key);
    this.ready.delete(entry.key);
    const mine = this.perUser.get(entry.job.userId);
    mine?.delete(entry.key);
    if (mine?.size === 0) this.perUser.delete(entry.job.userId);
  }

  private pump(): void {
    while (!this.closed && this.running < this.options.concurrency && this.ready.size > 0) {
      const entry = this.ready.values().next().value!;
      this.remove(entry);
      this.running++;
      const work = this.run(entry);
      this.runningWork.add(work);
      void work.finally(() => this.runningWork.delete(work));
    }
  }

  private async run(entry: Entry): Promise<void> {
    let result: DeliveryResult;
    try {
      result = await this.events.deliver(entry.job);
    } catch (err) {
      this.log.error({ err }, 'push delivery failed unexpectedly');
      result = { kind: 'retry', afterMs: null };
    }
    this.running--;
    if (result.kind === 'retry') this.retry(entry, result.afterMs);
    this.pump();
    this.settle();
  }

  private retry(entry: Entry, afterMs: number | null): void {
    // A newer job for the same device and conversation came meanwhile: it supersedes this one.
    if (this.closed || this.pending.has(entry.key)) return;
    entry.attempts++;
    if (entry.attempts >= this.options.maxAttempts) {
      this.events.gaveUp(entry.job);
      return;
    }
    // A service that asks for a longer pause than we would ever wait is not pushed harder.
    if (afterMs !== null && afterMs > this.options.maxDelayMs) {
      this.events.gaveUp(entry.job);
      return;
    }
    const backoff = this.random() * Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (entry.attempts - 1));
    const delay = Math.max(afterMs ?? 0, backoff);
    this.add(entry);
    if (!this.pending.has(entry.key)) return;
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (this.pending.get(entry.key) !== entry) return;
      this.ready.set(entry.key, entry);
      this.pump();
    }, delay);
    entry.timer.unref();
  }

  private settle(): void {
    if (this.pending.size > 0 || this.running > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
