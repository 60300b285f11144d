import type { ErrorCode } from '@fetchwork/shared-schema';

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
