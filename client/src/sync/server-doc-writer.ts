import type { CollectionName, DocsByCollection, Wire } from '@fetchwork/shared-schema';
import {
  type BulkWriteRow,
  createRevision,
  getAssumedMasterState,
  getHeightOfRevision,
  getMetaWriteRow,
  now,
  type RxDocumentData,
  type RxStorageInstanceReplicationState,
} from 'rxdb';

type Doc<C extends CollectionName> = DocsByCollection[C];

export class ReplicationStoppedError extends Error {
  override name = 'ReplicationStoppedError';
  constructor() {
    super('the replication stopped before the documents were stored');
  }
}
type State<C extends CollectionName> = RxStorageInstanceReplicationState<Doc<C>>;

/**
 * Stores documents that the server sent outside the live replication (the history walk, a
 * conversation's older pages) straight into the collection's storage, the way RxDB's downstream
 * stores pulled ones, but in one large batch and with one rule RxDB does not have: a document's
 * server sequence is its version, so a copy never replaces a newer one (the history walk can
 * race the live stream that carries the same document's later states).
 *
 * - It runs inside RxDB's own downstream queue, so it never interleaves with a pull or stream
 *   batch being stored: each sees the other's result.
 * - It writes the replication's assumed master state first, then the document, marked as the
 *   master's like RxDB's downstream marks it. The push side then finds the document equal to
 *   the master and sends nothing: nothing that came from the server goes back to it.
 * - A document with local changes not yet pushed is left alone, as RxDB's downstream leaves it:
 *   its push settles it with the server through the shared conflict handler.
 */
export class ServerDocWriter<C extends CollectionName> {
  constructor(private readonly replication: () => State<C> | undefined) {}

  /**
   * Stores what is newer than the replica's copy; resolves with how many documents it wrote.
   * Rejects with ReplicationStoppedError when the replication stops first: nothing was stored,
   * and a caller must not record the page as done.
   */
  write(docs: readonly Wire<Doc<C>>[]): Promise<number> {
    const state = this.replication();
    if (!state) return Promise.reject(new ReplicationStoppedError());
    if (docs.length === 0) return Promise.resolve(0);
    const task = state.streamQueue.down.then(() => this.persist(state, docs));
    // RxDB chains its own batches on this promise: a failure here must not break its chain.
    state.streamQueue.down = task.then(
      () => undefined,
      () => undefined,
    );
    return task;
  }

  private async persist(state: State<C>, incoming: readonly Wire<Doc<C>>[]): Promise<number> {
    if (state.events.canceled.getValue()) throw new ReplicationStoppedError();
    const newest = new Map<string, Wire<Doc<C>>>();
    for (const doc of incoming) {
      const seen = newest.get(doc.id);
      if (!seen || seen.seq < doc.seq) newest.set(doc.id, doc);
    }
    const ids = [...newest.keys()];
    const identifierHash = await state.input.hashFunction(state.input.identifier);
    const [forkDocs, assumed] = await Promise.all([
      state.input.forkInstance.findDocumentsById(ids, true),
      getAssumedMasterState(state, ids),
    ]);
    const fork = new Map(forkDocs.map((d) => [d.id, d]));

    const forkRows: BulkWriteRow<Doc<C>>[] = [];
    const metaRows: Awaited<ReturnType<typeof getMetaWriteRow<Doc<C>>>>[] = [];
    for (const [id, master] of newest) {
      const local = fork.get(id);
      const meta = assumed[id];
      if (local) {
        if (local.seq >= master.seq) continue;
        const fromMaster =
          (meta !== undefined && state.input.conflictHandler.isEqual(meta.docData, docState(local), 'fetchwork-history')) ||
          (local._meta.o?.hash === identifierHash && local._meta.o._rev === getHeightOfRevision(local._rev));
        if (!fromMaster) continue;
      }
      const height = local ? getHeightOfRevision(local._rev) + 1 : 1;
      const document = {
        ...master,
        _attachments: {},
        _meta: { ...(local?._meta ?? {}), lwt: now(), o: { _rev: height, hash: identifierHash } },
        _rev: createRevision(identifierHash, local),
      } as unknown as RxDocumentData<Doc<C>>;
      forkRows.push({ previous: local, document });
      metaRows.push(await getMetaWriteRow(state, master, meta?.metaDocument));
    }
    if (forkRows.length === 0) return 0;
    // Meta first: when the push side sees the new document, its master state is already there.
    const metaResult = await state.input.metaInstance.bulkWrite(metaRows, 'fetchwork-history-meta');
    if (metaResult.error.length > 0) throw new Error(`storing ${metaResult.error.length} master states failed`);
    const forkResult = await state.input.forkInstance.bulkWrite(forkRows, await state.downstreamBulkWriteFlag);
    // A 409 is a local write that came in between: it is pushed and settled like any other.
    const failed = forkResult.error.filter((e) => e.status !== 409);
    if (failed.length > 0) throw new Error(`storing ${failed.length} documents failed (status ${failed[0]?.status})`);
    return forkRows.length - forkResult.error.length;
  }
}

/** The document as the replication compares it: without RxDB's storage fields. */
function docState<T>(doc: RxDocumentData<T>): Wire<T> {
  const { _meta, _rev, _attachments, ...state } = doc as RxDocumentData<T> & Record<string, unknown>;
  return state as unknown as Wire<T>;
}
