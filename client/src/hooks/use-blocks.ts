import { map, of } from 'rxjs';
import type { InboxBlocks } from '../inbox-api';
import { useInbox } from './inbox-context';
import { useObservable } from './use-observable';

/** The inbox's blocks; null for an inbox without them (tests' stand-ins). */
export function useBlocks(): InboxBlocks | null {
  return useInbox().blocks ?? null;
}

/** Whether the signed-in user blocked `userId`; null while the list is not known (never fetched yet). */
export function useBlocked(userId: string): boolean | null {
  const blocks = useBlocks();
  return useObservable<boolean | null>(
    () => (blocks ? blocks.blocked$.pipe(map((set) => (set ? set.has(userId) : null))) : of(null)),
    null,
    [blocks, userId],
  );
}
