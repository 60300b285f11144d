import { type CollectionName, type DocsByCollection, jsonEqual, type PushRow } from '@fetchwork/shared-schema';
import { getHeightOfRevision, type RxDocumentData, type RxStorageInstanceReplicationState, writeDocToDocState } from 'rxdb';

type Doc<C extends CollectionName> = DocsByCollection[C];

/**
 * Whether the replica's copy is exactly the revision stored from the server, as marked by
 * RxDB's downstream and by the ServerDocWriter (`_meta.o`): any local change since is a newer revision.
 */
export function isServerCopy(doc: RxDocumentData<unknown>, identifierHash: string): boolean {
  const o = doc._meta.o as { hash?: string; _rev?: number } | undefined;
  return o?.hash === identifierHash && o._rev === getHeightOfRevision(doc._rev);
}

/**
 * The history walk stores documents without RxDB's master-state rows (server-doc-writer.ts).
 * RxDB's upstream skips them while live, but its initial pass (after a restart or a RESYNC)
 * may meet a page whose write it had not yet passed its checkpoint over, and would push it
 * with no assumed master. Those rows carry nothing the server does not have: this drops every
 * row without an assumed master whose replica copy is still the server's own revision, in the
 * state the row carries. RxDB then records the row as the assumed master, as after a push.
 */
export async function withoutUnchangedServerCopies<C extends CollectionName>(
  rows: PushRow<C>[],
  state: RxStorageInstanceReplicationState<Doc<C>> | undefined,
): Promise<PushRow<C>[]> {
  if (!state) return rows;
  const candidates = rows.filter((r) => r.assumedMasterState === null && r.newDocumentState.seq > 0);
  if (candidates.length === 0) return rows;
  const identifierHash = await state.input.hashFunction(state.input.identifier);
  const stored = await state.input.forkInstance.findDocumentsById(
    candidates.map((r) => r.newDocumentState.id),
    true,
  );
  const rowById = new Map(candidates.map((r) => [r.newDocumentState.id, r]));
  const copies = new Set<string>();
  for (const doc of stored) {
    if (!isServerCopy(doc, identifierHash)) continue;
    // The state RxDB's upstream pushes: the stored document without _meta, _rev, _attachments.
    const row = rowById.get(doc.id);
    if (row && jsonEqual(writeDocToDocState(doc, false, false), row.newDocumentState)) copies.add(doc.id);
  }
  return copies.size === 0 ? rows : rows.filter((r) => !copies.has(r.newDocumentState.id));
}
