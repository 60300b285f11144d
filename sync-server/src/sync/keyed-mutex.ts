/**
 * In-process mutual exclusion by key. Pushes that touch the same conversation take turns here, so
 * a burst into one conversation commits one after another instead of racing each other's
 * compare-and-set until retries run out. Across instances the store's compare-and-set still
 * decides. Keys are taken in sorted order, so two callers never wait on each other in a cycle.
 *
 * A free key is taken at once, without a promise or a turn of the microtask queue: nearly every
 * push finds its conversation free, and the chained promises of a lock per push were ~3 % of the
 * server's allocations at 3,000 one-message pushes/s.
 */
export class KeyedMutex {
  /** Held keys → callers waiting for them, first come first served. */
  private readonly held = new Map<string, (() => void)[]>();

  async runExclusive<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const sorted = keys.length === 1 ? keys : [...new Set(keys)].sort();
    const taken: string[] = [];
    try {
      for (const key of sorted) {
        const waiters = this.held.get(key);
        if (waiters) await new Promise<void>((resolve) => waiters.push(resolve));
        else this.held.set(key, []);
        taken.push(key);
      }
      return await work();
    } finally {
      for (let i = taken.length - 1; i >= 0; i--) this.release(taken[i]!);
    }
  }

  /** Hands the key to its next waiter (it stays held), or frees it. */
  private release(key: string): void {
    const next = this.held.get(key)?.shift();
    if (next) next();
    else this.held.delete(key);
  }
}
