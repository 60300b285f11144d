import type { Observable, Subscription } from 'rxjs';

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
