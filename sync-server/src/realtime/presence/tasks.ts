import type { Logger } from '../../logger';

/**
 * Background work of the presence layer: per-key serial chains (so a user's connect, disconnect
 * and settle reach the store in the order they happened here), tracked timers, and `idle()` for
 * an orderly shutdown and for tests that must know every consequence of an event has happened.
 */
export class Tasks {
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly log: Logger) {}

  /** Runs `op` after every earlier op of the same key; failures are logged, never thrown. */
  serial(key: string, what: string, op: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(key) ?? Promise.resolve()).then(op).catch((err) => this.log.warn({ err, key }, `${what} failed`));
    this.chains.set(key, next);
    this.track(next).finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  /** Runs `op` in the background, logging a failure. */
  run(what: string, op: () => Promise<void>): void {
    this.track(op().catch((err) => this.log.warn({ err }, `${what} failed`)));
  }

  /** (Re)arms the timer of a key; the previous one of the same key is cancelled. */
  schedule(key: string, ms: number, fire: () => void): void {
    this.cancel(key);
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      fire();
    }, ms);
    timer.unref();
    this.timers.set(key, timer);
  }

  cancel(key: string): void {
    const timer = this.timers.get(key);
    if (timer) clearTimeout(timer);
    this.timers.delete(key);
  }

  /** Resolves once nothing runs and no timer whose key passes `timers` is armed. */
  async idle(timers: (key: string) => boolean = () => true): Promise<void> {
    for (;;) {
      if (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      else if ([...this.timers.keys()].some(timers)) await new Promise((r) => setTimeout(r, 10));
      else return;
    }
  }

  /** Cancels every timer and lets the work in flight finish. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.idle(() => false);
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    promise.finally(() => this.inFlight.delete(promise)).catch(() => undefined);
    return promise;
  }
}
