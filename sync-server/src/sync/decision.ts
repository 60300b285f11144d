import { type ErrorCode, jsonEqual, type Wire } from '@fetchwork/shared-schema';

/** What the push service does with one row, decided by the rules of its collection. */
export type Decision<T> =
  /** The row changes nothing the client controls: answer nothing, store nothing. */
  | { kind: 'noop' }
  /** The stored state must win; `reason` (if any) is also reported as a rejected row. */
  | { kind: 'conflict'; master: T; reason?: { code: ErrorCode; message: string } }
  /** A refused write of something the caller may not see: no state is returned. */
  | { kind: 'reject'; code: ErrorCode; message: string }
  | { kind: 'write'; next: T };

export const reject = (code: ErrorCode, message: string) => ({ kind: 'reject', code, message }) as const;

/**
 * A row that changes nothing a client controls stores nothing. If its copy is stale (server
 * fields differ: a retried creation whose first ack was lost, an older pulled state) the stored
 * state is answered as a conflict, so the replica takes the server's fields instead of keeping a
 * message pending forever; RxDB's merge then equals the master and it stops pushing.
 */
export function staleOrSame<T>(proposed: Wire<T>, master: Wire<T>): Decision<T> {
  const { _deleted: _p, ...p } = proposed;
  const { _deleted: _m, ...m } = master;
  return jsonEqual(p, m) ? { kind: 'noop' } : { kind: 'conflict', master: m as T };
}
