import { combineLatest, distinctUntilChanged, map, type Observable } from 'rxjs';
import type { ConnectionState } from '../inbox-api';
import type { InitialSyncProgress } from '../sync/collection-sync';
import type { SocketStatus } from '../sync/socket';

/**
 * What the UI shows. Each tab has its own socket, so its connection is its own; the number of
 * unsent writes comes from the shared outbox (the same in every tab); initial-sync progress
 * is known only in the leader tab, which is the one receiving it.
 */
export function connectionState$(
  socket$: Observable<SocketStatus>,
  pending$: Observable<number>,
  initialSync$: Observable<InitialSyncProgress | null>,
): Observable<ConnectionState> {
  return combineLatest([socket$, pending$, initialSync$]).pipe(
    map(([s, pendingWrites, initial]): ConnectionState => {
      switch (s.kind) {
        case 'unauthorized':
          return { status: 'error', reason: 'unauthorized', pendingWrites };
        case 'upgrade-required':
          return { status: 'error', reason: 'upgrade-required', pendingWrites };
        case 'closed':
          return { status: 'error', reason: 'closed', pendingWrites };
        case 'offline':
          return { status: 'offline', pendingWrites };
        case 'connecting':
          return { status: 'connecting', attempt: s.attempt, pendingWrites };
        case 'connected': {
          const initialSync = initial && !initial.done ? initial : null;
          if (pendingWrites > 0 || initialSync) return { status: 'syncing', pendingWrites, initialSync };
          return { status: 'online', pendingWrites: 0 };
        }
      }
    }),
    distinctUntilChanged((a, b) => JSON.stringify(a) === JSON.stringify(b)),
  );
}
