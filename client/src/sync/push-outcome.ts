import { type PushResult, RETRYABLE_REJECT_CODES, type RejectedRow } from '@fetchwork/shared-schema';

export interface PushOutcome<T> {
  /** Stored states to hand to RxDB's conflict handler. */
  conflicts: T[];
  /** Refused for good: shown as failed with the reason. */
  failed: RejectedRow[];
  /** Refused for now (CONVERSATION_NOT_FOUND, RATE_LIMITED, INTERNAL): the batch is retried. */
  retry: RejectedRow[];
}

/**
 * Sorts a push answer. A rejected row that also came back as a conflict is a refused change
 * to a stored document: the conflict handler reverts it, so it is not a failure to show.
 * A retryable row becomes a failure after `maxAttempts` tries, so one row the server keeps
 * refusing cannot hold up every later write behind it forever.
 */
export function classifyPushResult<T extends { id: string }>(
  result: PushResult,
  attempts: Map<string, number>,
  maxAttempts: number,
): PushOutcome<T> {
  const conflicts = result.conflicts as unknown as T[];
  const conflictIds = new Set(conflicts.map((c) => c.id));
  const failed: RejectedRow[] = [];
  const retry: RejectedRow[] = [];
  for (const row of result.rejected) {
    if (row.id !== null && conflictIds.has(row.id)) continue;
    if (!RETRYABLE_REJECT_CODES.includes(row.code)) {
      failed.push(row);
      continue;
    }
    const key = row.id ?? '';
    const n = (attempts.get(key) ?? 0) + 1;
    if (n >= maxAttempts) {
      attempts.delete(key);
      failed.push({ ...row, message: `${row.message} (gave up after ${n} attempts)` });
    } else {
      attempts.set(key, n);
      retry.push(row);
    }
  }
  return { conflicts, failed, retry };
}

/** Thrown from a push handler so that RxDB sends the batch again after its retry time. */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  constructor(readonly rows: RejectedRow[]) {
    super(`retrying later: ${rows.map((r) => `${r.id ?? '?'} ${r.code}`).join(', ')}`);
  }
}
