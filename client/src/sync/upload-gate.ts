import type { CollectionName, PushRow } from '@fetchwork/shared-schema';
import { hasPendingAttachments } from '../files/pending-attachments';
import type { BeforePushResult } from './collection-sync';

type Gate<C extends CollectionName> = (rows: PushRow<C>[]) => Promise<BeforePushResult<C>>;

/**
 * A message whose files are still uploading is left out of the push: not failed, not retried.
 * RxDB records the held state as pushed; the write that puts the server's attachments in
 * (files/finalize.ts) is a new local revision, so RxDB pushes the message then, once. The
 * server would refuse it before that anyway (ATTACHMENT_INVALID), and must never see the
 * `#pending` urls.
 */
export async function holdPendingUploads(rows: PushRow<'messages'>[]): Promise<BeforePushResult<'messages'>> {
  return { rows: rows.filter((r) => !hasPendingAttachments(r.newDocumentState)), failed: [] };
}

/** Runs gates one after the other: each sees the rows the previous one let through. */
export function composeGates<C extends CollectionName>(...gates: Gate<C>[]): Gate<C> {
  return async (rows) => {
    let kept = rows;
    const failed: BeforePushResult<C>['failed'] = [];
    for (const gate of gates) {
      if (kept.length === 0) break;
      const result = await gate(kept);
      kept = result.rows;
      failed.push(...result.failed);
    }
    return { rows: kept, failed };
  };
}
