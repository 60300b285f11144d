import type { CollectionName, DocsByCollection, Wire } from '@fetchwork/shared-schema';
import {
  type BulkWriteRow,
  createRevision,
  getAssumedMasterState,
  getHeightOfRevision,
  getMetaWriteRow,
  now,
  type RxDatabase,
  type RxDocumentData,
  type RxStorageInstance,
  type RxStorageInstanceReplicationState,
  writeDocToDocState,
} from 'rxdb';
import { type Observable, Subject } from 'rxjs';
import { insertAbsent } from '../db/insert-absent';
import { isServerCopy } from './server-copy';

type Doc<C extends CollectionName> = DocsByCollection[C];

export class ReplicationStoppedError extends Error {
  override name = 'ReplicationStoppedError';
  constructor() {
    super('the replication stopped before the documents were stored');
  }
}
type State<C extends CollectionName> = RxStorageInstanceReplicationState<Doc<C>>;

export interface PersistOptions<C extends CollectionName> {
  /**
   * A document inserted new also gets RxDB's master-state row (one more insert, no read). For
   * documents this device may change next (a catch-up's unread messages, a streamed message):
   * without the row, the first push of a change has no assumed master and costs a conflict round
   * trip (see the class comment). The walk's old pages go without.
   */
  masterStates?: boolean;
  /**
   * Documents the replica probably holds already (a streamed receipt, the echo of a push): read
   * first and stored the careful way, instead of inserts that fail first; the batch's others are
   * inserted before them. Only a cost: a wrong guess either way stores the same.
   */
  held?: (doc: Wire<Doc<C>>) => boolean;
}

/**
 * Stores documents that the server sent (the history walk, a conversation's older pages, and
 * for the live replication its pulls from a checkpoint and its streamed batches) straight into
 * the collection's storage, the way RxDB's downstream stores pulled ones, but in large batches,
 * without reads where the replica cannot hold the document, and with one rule RxDB does not have: a document's
 * server sequence is its version, so a copy never replaces a newer one (the history walk can
 * race the live stream that carries the same document's later states).
 *
 * - It runs inside RxDB's own downstream queue, so it never interleaves with a pull or stream
 *   batch being stored: each sees the other's result.
 * - A document the replica does not hold yet (nearly all of a walk) is inserted as the master's,
 *   the way RxDB's downstream marks it (`_meta.o`), in the downstream's write context and
 *   WITHOUT a master-state row (the walk; pulls and the stream insert one, also without a
 *   read): one storage write instead of RxDB's four reads and two writes.
 *   Why that is safe (docs/client.md, "Recent first"): RxDB's live upstream ignores writes in
 *   the downstream's context and moves its checkpoint past them; its downstream treats a marked
 *   document without a master state as the master's; and in the one case where the upstream
 *   reads such a document again (its initial pass after a RESYNC or a restart, racing the
 *   write), it pushes the server's own state without an assumed master, which the server
 *   answers as a no-op or with its newer state: a round trip, never a change.
 * - A document the replica holds (the insert finds it) goes the careful way: the document, then
 *   its master state row, unless it is as new already. A document with local changes not
 *   yet pushed is left alone, as RxDB's downstream leaves it: its push settles it with the
 *   server through the shared conflict handler.
 */
export class ServerDocWriter<C extends CollectionName> {
  private readonly stored = new Subject<Wire<Doc<C>>>();
  /** What `writeBootstrap` stored: id → seq. */
  private readonly bootstrapped = new Map<string, number>();

  /**
   * @param database the collection's database: its token names revisions, and its lock keeps
   *   a write from racing the database's close, as RxDB's own storage wrapper does.
   */
  constructor(
    private readonly replication: () => State<C> | undefined,
    private readonly database: Pick<RxDatabase, 'token' | 'lockedRun'>,
  ) {}

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

  /** The server states this writer stored, as RxDB's `received$` has those its replication stores. */
  get stored$(): Observable<Wire<Doc<C>>> {
    return this.stored.asObservable();
  }

  private announce(docs: Iterable<Wire<Doc<C>>>, written: ReadonlySet<string>): void {
    for (const doc of docs) if (written.has(doc.id)) this.stored.next(doc);
  }

  /**
   * A bootstrap answer, from RxDB's pull handler: it already runs inside RxDB's downstream queue,
   * which `write` would wait on for ever. What it stores is remembered (id → seq): the walk's
   * first pages repeat those documents, and a failed insert per document cost more than storing
   * the rest of the page (fake-indexeddb: 600 ms for a page of 1,000 against 70 ms).
   */
  async writeBootstrap(docs: readonly Wire<Doc<C>>[]): Promise<number> {
    const written = await this.writeInDownstream(docs);
    for (const d of docs) this.bootstrapped.set(d.id, Math.max(d.seq, this.bootstrapped.get(d.id) ?? 0));
    return written;
  }

  /**
   * Stores documents from inside RxDB's downstream task (a pull handler: the bootstrap, a
   * catch-up), which `write` would wait on for ever; resolves with how many it wrote.
   */
  async writeInDownstream(docs: readonly Wire<Doc<C>>[], options: PersistOptions<C> = {}): Promise<number> {
    const state = this.replication();
    if (!state) throw new ReplicationStoppedError();
    if (docs.length === 0) return 0;
    return this.persist(state, docs, options);
  }

  /**
   * Documents the replica does not hold are inserted (no reads); those it holds, or is believed
   * to hold (`options.held`), go the careful way.
   */
  private async persist(state: State<C>, incoming: readonly Wire<Doc<C>>[], options: PersistOptions<C> = {}): Promise<number> {
    if (state.events.canceled.getValue()) throw new ReplicationStoppedError();
    const newest = new Map<string, Wire<Doc<C>>>();
    for (const doc of incoming) {
      const seen = newest.get(doc.id);
      // The replica holds the bootstrap's state or a newer one (a document's seq only grows).
      if ((!seen || seen.seq < doc.seq) && (this.bootstrapped.get(doc.id) ?? -1) < doc.seq) newest.set(doc.id, doc);
    }
    if (newest.size === 0) return 0;
    const identifierHash = await state.input.hashFunction(state.input.identifier);
    const context = await state.downstreamBulkWriteFlag;
    // RxDB's storage wrapper replaces an inserted document's _meta (the mark) and _rev; the
    // instance below it stores them as given (insertAbsent: without reading them first). Without
    // it, every document goes the careful way.
    const raw = (state.input.forkInstance as { originalStorageInstance?: RxStorageInstance<Doc<C>, unknown, unknown> })
      .originalStorageInstance;
    if (!raw) {
      const local = await state.input.forkInstance.findDocumentsById([...newest.keys()], true);
      return this.careful(state, [...newest.values()], local, identifierHash, context);
    }
    // Documents believed held (a receipt's stamps held back, the echo of a push) go the careful
    // way, as RxDB's downstream would store them, with their master states read beside them. The
    // others are inserted first, with their master-state rows: a new message from someone else
    // that arrives behind held stamps is on screen after one write instead of after the stamps'
    // reads and writes (the recipient's tail, docs/performance.md, fourteenth session), and a read
    // mark written meanwhile finds its master state and pushes without a conflict. An insert that
    // finds its document already stored joins the careful ones.
    const heldDocs: Wire<Doc<C>>[] = [];
    const fresh: Wire<Doc<C>>[] = [];
    for (const doc of newest.values()) (options.held?.(doc) ? heldDocs : fresh).push(doc);
    const revision = createRevision(this.database.token);
    const inserts = fresh.map((master) => ({ document: fromMaster(master, undefined, identifierHash, revision) }));
    const present = new Set(inserts.length > 0 ? await this.database.lockedRun(() => insertAbsent(raw, inserts, context)) : []);
    const inserted = fresh.filter((d) => !present.has(d.id));
    if (options.masterStates && inserted.length > 0) await this.insertMasterStates(state, inserted);
    for (const doc of inserted) this.stored.next(doc);
    const careful = [...heldDocs, ...fresh.filter((d) => present.has(d.id))];
    if (careful.length === 0) return inserted.length;
    const ids = careful.map((d) => d.id);
    const [local, assumed] = await Promise.all([
      raw.findDocumentsById(ids, true),
      // Without held ones, `careful` reads master states only for the copies newer than the replica's.
      heldDocs.length > 0 ? getAssumedMasterState(state, ids) : undefined,
    ]);
    return inserted.length + (await this.careful(state, careful, local, identifierHash, context, assumed));
  }

  /**
   * Master-state rows for documents just inserted as the server's copy, after them (RxDB's push
   * skips writes in the downstream's context, so it never sees the document without one). A row
   * left from an earlier copy of the same id is replaced.
   */
  private async insertMasterStates(state: State<C>, masters: readonly Wire<Doc<C>>[]): Promise<void> {
    const rows = await Promise.all(masters.map((m) => getMetaWriteRow(state, m, undefined)));
    const present = new Set(await this.database.lockedRun(() => insertAbsent(state.input.metaInstance, rows, 'fetchwork-catch-up-meta')));
    if (present.size === 0) return;
    // The meta store's key is its own (item id and kind); back to the documents.
    const stale = masters.filter((_, i) => present.has(rows[i]!.document.id));
    const assumed = await getAssumedMasterState(
      state,
      stale.map((m) => m.id),
    );
    const again = await Promise.all(stale.map((m) => getMetaWriteRow(state, m, assumed[m.id]?.metaDocument)));
    const result = await state.input.metaInstance.bulkWrite(again, 'fetchwork-catch-up-meta');
    if (result.error.length > 0) throw new Error(`storing ${result.error.length} master states failed`);
  }

  /**
   * With master state rows, as RxDB's downstream stores: a document the replica holds is
   * replaced only by a newer server state, and only when it has no local change.
   */
  private async careful(
    state: State<C>,
    masters: readonly Wire<Doc<C>>[],
    localDocs: readonly RxDocumentData<Doc<C>>[],
    identifierHash: string,
    context: string,
    assumedRead?: Awaited<ReturnType<typeof getAssumedMasterState<Doc<C>>>>,
  ): Promise<number> {
    const fork = new Map(localDocs.map((d) => [d.id, d]));
    // As new already: nothing to read. The walk's first page repeats the bootstrap's documents;
    // reading their master states cost more than storing the rest of the page.
    const newer = masters.filter((m) => (fork.get(m.id)?.seq ?? -1) < m.seq);
    if (newer.length === 0) return 0;
    const assumed =
      assumedRead ??
      (await getAssumedMasterState(
        state,
        newer.map((d) => d.id),
      ));
    const forkRows: BulkWriteRow<Doc<C>>[] = [];
    const metaRows: Awaited<ReturnType<typeof getMetaWriteRow<Doc<C>>>>[] = [];
    for (const master of newer) {
      const local = fork.get(master.id);
      const meta = assumed[master.id];
      if (local) {
        const isMasters =
          (meta !== undefined &&
            state.input.conflictHandler.isEqual(meta.docData, writeDocToDocState(local, false, false), 'fetchwork-history')) ||
          isServerCopy(local, identifierHash);
        if (!isMasters) continue;
      }
      forkRows.push({ previous: local, document: fromMaster(master, local, identifierHash, createRevision(this.database.token, local)) });
      metaRows.push(await getMetaWriteRow(state, master, meta?.metaDocument));
    }
    if (forkRows.length === 0) return 0;
    // The documents first, then their master states, as RxDB's downstream stores them: what the
    // screen shows waits for one write, not two. RxDB's upstream skips writes in this context; a
    // restart between the two pushes the server's own state back once, answered as a conflict
    // that resolves to that state.
    const forkResult = await state.input.forkInstance.bulkWrite(forkRows, context);
    // A 409 is a local write that came in between: it is pushed and settled like any other.
    const failed = forkResult.error.filter((e) => e.status !== 409);
    if (failed.length > 0) throw new Error(`storing ${failed.length} documents failed (status ${failed[0]?.status})`);
    const written = new Set(forkRows.map((r) => r.document.id));
    for (const e of forkResult.error) written.delete(e.documentId);
    const metaWrites = metaRows.filter((r) => written.has(r.document.itemId));
    if (metaWrites.length > 0) {
      const metaResult = await state.input.metaInstance.bulkWrite(metaWrites, 'fetchwork-history-meta');
      if (metaResult.error.length > 0) throw new Error(`storing ${metaResult.error.length} master states failed`);
    }
    this.announce(newer, written);
    return written.size;
  }
}

/**
 * The master's state as the replica stores it, marked the way RxDB's downstream marks pulled
 * documents: `_meta.o` names the revision height that is the master's, so a later local change
 * (a higher revision) is no longer taken for it.
 */
function fromMaster<T>(master: Wire<T>, local: RxDocumentData<T> | undefined, identifierHash: string, revision: string): RxDocumentData<T> {
  return {
    ...master,
    _attachments: {},
    _meta: { ...(local?._meta ?? {}), lwt: now(), o: { _rev: getHeightOfRevision(revision), hash: identifierHash } },
    _rev: revision,
  } as unknown as RxDocumentData<T>;
}
