import { useMemo, useSyncExternalStore } from 'react';
import type { Observable } from 'rxjs';
import { createObservableStore } from './observable-store';

/** The latest value of the observable `make` returns; `initial` until it emits. */
export function useObservable<T>(make: () => Observable<T>, initial: T, deps: readonly unknown[]): T {
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what `make` depends on
  const store = useMemo(() => createObservableStore(make(), initial), deps);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
