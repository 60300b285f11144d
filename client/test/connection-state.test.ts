import { BehaviorSubject, firstValueFrom, of, Subject } from 'rxjs';
import { describe, expect, test } from 'vitest';
import { createObservableStore, createSwitchingStore } from '../src/hooks/observable-store';
import { connectionState$ } from '../src/inbox/connection-state';
import type { SocketStatus } from '../src/sync/socket';

const stateOf = (s: SocketStatus, pending: number, initial: { received: number; done: boolean } | null = null) =>
  firstValueFrom(connectionState$(of(s), of(pending), of(initial)));

describe('connection state', () => {
  test('maps the socket and the outbox to what the UI shows', async () => {
    expect(await stateOf({ kind: 'connected' }, 0)).toEqual({ status: 'online', pendingWrites: 0 });
    expect(await stateOf({ kind: 'connected' }, 3)).toEqual({ status: 'syncing', pendingWrites: 3, initialSync: null });
    expect(await stateOf({ kind: 'connected' }, 0, { received: 250, done: false })).toEqual({
      status: 'syncing',
      pendingWrites: 0,
      initialSync: { received: 250, done: false },
    });
    expect(await stateOf({ kind: 'connected' }, 0, { received: 300, done: true })).toEqual({ status: 'online', pendingWrites: 0 });
    expect(await stateOf({ kind: 'offline', attempt: 2 }, 1)).toEqual({ status: 'offline', pendingWrites: 1 });
    expect(await stateOf({ kind: 'connecting', attempt: 4 }, 0)).toEqual({ status: 'connecting', attempt: 4, pendingWrites: 0 });
    expect(await stateOf({ kind: 'unauthorized' }, 2)).toEqual({ status: 'error', reason: 'unauthorized', pendingWrites: 2 });
  });
});

describe('observable store (what the hooks read)', () => {
  test('one upstream subscription for all listeners, closed with the last; stable snapshots', () => {
    const source = new BehaviorSubject(1);
    const store = createObservableStore(source, 0);
    expect(store.getSnapshot()).toBe(0);
    let calls = 0;
    const off1 = store.subscribe(() => calls++);
    const off2 = store.subscribe(() => calls++);
    expect(source.observed).toBe(true);
    expect(store.getSnapshot()).toBe(1);
    source.next(2);
    expect(store.getSnapshot()).toBe(2);
    expect(calls).toBe(3);
    off1();
    expect(source.observed).toBe(true);
    off2();
    expect(source.observed).toBe(false);
  });
});

describe('switching store (what useMessageWindow reads)', () => {
  test('a new limit keeps the last answer until its own arrives, and the old query is dropped at once', () => {
    const queries = new Map<number, Subject<string[]>>();
    const store = createSwitchingStore((limit: number) => {
      const q = new Subject<string[]>();
      queries.set(limit, q);
      return q;
    });
    store.select(100);
    const off = store.subscribe(() => undefined);
    expect(store.getSnapshot()).toBeUndefined();
    queries.get(100)!.next(['m1', 'm2']);
    const first = store.getSnapshot();
    expect(first).toEqual({ key: 100, value: ['m1', 'm2'] });

    store.select(200);
    expect(store.getSnapshot()).toBe(first);
    expect(queries.get(100)!.observed).toBe(false);
    queries.get(200)!.next(['m0', 'm1', 'm2']);
    expect(store.getSnapshot()).toEqual({ key: 200, value: ['m0', 'm1', 'm2'] });

    store.select(200);
    expect([...queries.keys()]).toEqual([100, 200]);
    off();
    expect(queries.get(200)!.observed).toBe(false);
  });
});
