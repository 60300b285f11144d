/**
 * The part of the Web Locks API the app uses (request with `mode`, `ifAvailable`, `signal`), in
 * memory: Node has no `navigator.locks`. One instance stands for one browser profile, the way
 * tabs of one origin share their locks. Requests are granted in order, shared ones together.
 */
export class MemoryLocks {
  private readonly held = new Map<string, { mode: LockMode; count: number }>();
  private readonly queue = new Map<string, { mode: LockMode; grant: () => void }[]>();

  request<T>(name: string, callback: (lock: Lock | null) => T | PromiseLike<T>): Promise<T>;
  request<T>(name: string, options: LockOptions, callback: (lock: Lock | null) => T | PromiseLike<T>): Promise<T>;
  request<T>(
    name: string,
    optionsOrCallback: LockOptions | ((lock: Lock | null) => T | PromiseLike<T>),
    maybeCallback?: (lock: Lock | null) => T | PromiseLike<T>,
  ): Promise<T> {
    const options: LockOptions = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback;
    const callback = (typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback) as (
      lock: Lock | null,
    ) => T | PromiseLike<T>;
    const mode = options.mode ?? 'exclusive';
    const run = async (): Promise<T> => {
      try {
        return await callback({ name, mode } as Lock);
      } finally {
        this.release(name);
      }
    };
    if (this.grantable(name, mode)) {
      this.take(name, mode);
      return run();
    }
    if (options.ifAvailable) return Promise.resolve(callback(null));
    return new Promise<T>((resolve, reject) => {
      const waiting = this.queue.get(name) ?? [];
      this.queue.set(name, waiting);
      const entry = {
        mode,
        grant: () => {
          options.signal?.removeEventListener('abort', onAbort);
          this.take(name, mode);
          run().then(resolve, reject);
        },
      };
      const onAbort = () => {
        const i = waiting.indexOf(entry);
        if (i >= 0) waiting.splice(i, 1);
        reject(new DOMException('The request was aborted.', 'AbortError'));
        this.next(name);
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      waiting.push(entry);
    });
  }

  query(): Promise<LockManagerSnapshot> {
    return Promise.resolve({ held: [], pending: [] });
  }

  private grantable(name: string, mode: LockMode): boolean {
    const held = this.held.get(name);
    if ((this.queue.get(name)?.length ?? 0) > 0) return false;
    return !held || (held.mode === 'shared' && mode === 'shared');
  }

  private take(name: string, mode: LockMode): void {
    const held = this.held.get(name);
    this.held.set(name, { mode, count: (held?.count ?? 0) + 1 });
  }

  private release(name: string): void {
    const held = this.held.get(name);
    if (!held) return;
    if (held.count > 1) held.count -= 1;
    else this.held.delete(name);
    this.next(name);
  }

  private next(name: string): void {
    const waiting = this.queue.get(name);
    while (waiting && waiting.length > 0) {
      const first = waiting[0] as { mode: LockMode; grant: () => void };
      const held = this.held.get(name);
      if (held && !(held.mode === 'shared' && first.mode === 'shared')) return;
      waiting.shift();
      first.grant();
    }
  }
}

/** A Storage in memory (localStorage of one profile). */
export class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  clear(): void {
    this.items.clear();
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}
