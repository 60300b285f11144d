/**
 * In-process mutual exclusion by key. Pushes that touch the same conversation take turns here, so
 * a burst into one conversation commits one after another instead of racing each other's
 * compare-and-set until retries run out. Across instances the store's compare-and-set still
 * decides. Keys are taken in sorted order, so two callers never wait on each other in a cycle.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async runExclusive<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: (() => void)[] = [];
    try {
      for (const key of sorted) releases.push(await this.acquire(key));
      return await work();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      // The last holder cleans up, so the map only holds keys with waiters.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
