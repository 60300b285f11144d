import { type BulkWriteRow, categorizeBulkWriteRows, type RxStorageInstance } from 'rxdb';
import { fromStorageToDexie, RxStorageInstanceDexie } from 'rxdb/plugins/storage-dexie';
import type { Subject } from 'rxjs';
import { MetaInstanceWrapper } from './meta-instance-wrapper';

/**
 * Inserts documents that are almost all new (a history page) into a collection's storage, one
 * IndexedDB `add` each, and says which were already there; those are left untouched.
 *
 * RxDB's own `bulkWrite` first reads every document of the batch by id (`getDocsInDb`: one
 * IndexedDB `get` per key) to detect conflicts. For a history page of 1,000 new messages that
 * read was the largest cost after the writes themselves (11 % of the page's main thread in the
 * Chromium profile, and a thousand requests in the browser's IndexedDB per page). An `add`
 * fails on an existing key by itself, so the read is not needed to keep a stored copy: the
 * failures are the documents that were present.
 *
 * What RxDB's `bulkWrite` does after writing is done the same way here: the stored rows become
 * one change event bulk on the instance's change stream (RxDB's categorizeBulkWriteRows builds
 * it, as Dexie's bulkWrite does), which the collection (queries, document cache), the
 * replication (it skips writes in its own downstream context) and the other tabs
 * (multi-instance broadcast) all read. A wrapped replication meta instance inserts the way its
 * wrappers say (`MetaInstanceWrapper#insertAbsent`); any storage other than RxDB's Dexie goes
 * through `bulkWrite`.
 *
 * @returns the ids that were present (not written); the rest were inserted.
 */
export async function insertAbsent<T>(
  instance: RxStorageInstance<T, unknown, unknown>,
  rows: BulkWriteRow<T>[],
  context: string,
): Promise<string[]> {
  // A replication meta instance (meta-instance-wrapper.ts) inserts through its wrappers.
  if (instance instanceof MetaInstanceWrapper) return instance.insertAbsent(rows as BulkWriteRow<any>[], context, insertAbsent);
  if (!(instance instanceof RxStorageInstanceDexie)) {
    const result = await instance.bulkWrite(rows, context);
    for (const e of result.error) if (e.status !== 409) throw new Error(`storing a document failed (status ${e.status})`);
    return result.error.map((e) => e.documentId);
  }
  if (instance.closed) throw new Error('the storage instance is closed');
  const primaryPath = instance.primaryPath as Extract<keyof T, string>;
  const state = await instance.internals;
  const present = new Set<string>();
  await state.dexieDb.transaction('rw', state.dexieTable, async () => {
    try {
      await state.dexieTable.bulkAdd(rows.map((r) => fromStorageToDexie(state.booleanIndexes, r.document)));
    } catch (err) {
      // Caught inside the transaction, a BulkError leaves the successful adds to commit.
      const failures = (err as { name?: string; failuresByPos?: Record<number, Error> }).failuresByPos;
      if ((err as Error).name !== 'BulkError' || !failures) throw err;
      for (const [pos, failure] of Object.entries(failures)) {
        if (failure.name !== 'ConstraintError') throw failure;
        present.add(String(rows[Number(pos)]!.document[primaryPath]));
      }
    }
  });
  const stored = present.size === 0 ? rows : rows.filter((r) => !present.has(String(r.document[primaryPath])));
  if (stored.length > 0) {
    const { eventBulk, newestRow } = categorizeBulkWriteRows(instance, primaryPath, new Map(), stored, context);
    if (eventBulk.events.length > 0 && newestRow) {
      eventBulk.checkpoint = { id: newestRow.document[primaryPath], lwt: newestRow.document._meta.lwt };
      // A private field of RxDB 17's Dexie instance (its bulkWrite emits here); the tests would fail without it.
      (instance as unknown as { changes$: Subject<typeof eventBulk> }).changes$.next(eventBulk);
    }
  }
  return [...present];
}
