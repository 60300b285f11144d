import { distinctUntilChanged, map, type Observable, ReplaySubject, type Subscription, switchMap } from 'rxjs';

export interface ObservableStore<T> {
  subscribe(onChange: () => void): () => void;
  getSnapshot(): T;
}

/**
 * Adapts an observable to useSyncExternalStore: one upstream subscription shared by all
 * listeners, opened with the first and closed with the last; the snapshot is the latest
 * value (the same reference until the observable emits, as React requires).
 */
export function createObservableStore<T>(source: Observable<T>, initial: T): ObservableStore<T> {
  let value = initial;
  let upstream: Subscription | null = null;
  const listeners = new Set<() => void>();
  return {
    subscribe(onChange) {
      listeners.add(onChange);
      if (!upstream) {
        upstream = source.subscribe({
          next: (v) => {
            value = v;
            for (const l of [...listeners]) l();
          },
        });
      }
      return () => {
        listeners.delete(onChange);
        if (listeners.size === 0 && upstream) {
          upstream.unsubscribe();
          upstream = null;
        }
      };
    },
    getSnapshot: () => value,
  };
}

export interface SwitchingStore<K, T> extends ObservableStore<{ key: K; value: T } | undefined> {
  /** Switches to `query(key)`; the snapshot keeps the previous answer until the new one arrives. */
  select(key: K): void;
}

/**
 * A store over `query(key)` for a key that changes (a page size): unlike a new store per key,
 * which starts again from nothing, it keeps showing the last answer, tagged with the key it
 * answers, until the query for the new key emits. The query of a key is dropped as soon as
 * another is selected, so an old answer never arrives after a new one.
 */
export function createSwitchingStore<K, T>(query: (key: K) => Observable<T>): SwitchingStore<K, T> {
  const keys = new ReplaySubject<K>(1);
  const source = keys.pipe(
    distinctUntilChanged(),
    switchMap((key) => query(key).pipe(map((value) => ({ key, value })))),
  );
  return { ...createObservableStore<{ key: K; value: T } | undefined>(source, undefined), select: (key) => keys.next(key) };
}
