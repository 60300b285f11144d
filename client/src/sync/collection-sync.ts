import {
  type Checkpoint,
  type CollectionName,
  type DocsByCollection,
  type HistoryCursor,
  isErrorBody,
  type PushResult,
  type PushRow,
  type RejectedRow,
  type StreamEvent,
  type Wire,
} from '@fetchwork/shared-schema';
import { type RxCollection, type RxReplicationPullStreamItem, type RxReplicationWriteToMasterRow, setCheckpoint } from 'rxdb';
import { type RxReplicationState, replicateRxCollection } from 'rxdb/plugins/replication';
import {
  BehaviorSubject,
  combineLatest,
  debounceTime,
  filter,
  firstValueFrom,
  type Observable,
  of,
  Subject,
  type Subscription,
  timeout,
} from 'rxjs';
import { EchoRepair } from './echo-repair';
import { classifyPushResult, RetryLaterError } from './push-outcome';
import { request, ServerError } from './request';
import { SendAhead } from './send-ahead';
import { withoutUnchangedServerCopies } from './server-copy';
import { ReplicationStoppedError, ServerDocWriter } from './server-doc-writer';
import type { SyncSocket } from './socket';
import { type StreamBatch, StreamBuffer, type StreamHold } from './stream-buffer';

export interface SyncTuning {
  ackTimeoutMs: number;
  /** RxDB waits this long before retrying a failed pull or push (requests already wait for a connection). */
  retryTimeMs: number;
  pullBatchSize: number;
  pushBatchSize: number;
  /** Tries of a row the server refuses with a retryable code before it is shown as failed. */
  maxRetryAttempts: number;
  /** A new replica's bootstrap: the newest conversations, and the newest messages of each. */
  bootstrapConversations: number;
  bootstrapMessagesPerConversation: number;
  /**
   * How many of the most recently active conversations the bootstrap brings a page of messages
   * for: the first screens' worth. Every conversation's latest message is in the list anyway;
   * the others' pages come with the walk, or from the server when opened.
   */
  bootstrapPagedConversations: number;
  /** Documents per page of the history walk. */
  historyBatchSize: number;
  /** How long a received message waits before it is reported delivered (auto-delivery.ts). */
  deliveryGraceMs: number;
  /** How long streamed conversation changes that touch only the summary may wait to be stored together (summary-hold.ts); 0: never. */
  conversationSummaryHoldMs: number;
  /** How long streamed stamps on the user's received messages may wait to be stored together (receipt-hold.ts); 0: never. */
  receiptStampHoldMs: number;
  /** Push a new text message as it is written, before RxDB's upstream sees it (send-ahead.ts). */
  sendAhead: boolean;
}

export interface InitialSyncProgress {
  received: number;
  done: boolean;
}

export interface BeforePushResult<C extends CollectionName> {
  rows: PushRow<C>[];
  /** Rows not sent because they cannot succeed (e.g. their conversation was refused). */
  failed: RejectedRow[];
}

export interface CollectionSyncOptions<C extends CollectionName> {
  name: C;
  collection: RxCollection<DocsByCollection[C]>;
  socket: SyncSocket;
  replicationIdentifier: string;
  tuning: SyncTuning;
  signal: AbortSignal;
  /** Stores refused rows (as failed writes) before RxDB learns the outcome of the push. */
  recordFailures(rows: RejectedRow[]): Promise<void>;
  beforePush?(rows: PushRow<C>[]): Promise<BeforePushResult<C>>;
  /** Drops a row from the push entirely (returns true); see RxDB's push modifier. */
  skipPush?(doc: Wire<DocsByCollection[C]>): boolean;
  /**
   * Streamed documents the replica probably does not hold yet (a message from someone else, in
   * its first server state): inserted without a read first. The rest are read and stored the
   * careful way (ServerDocWriter's `held`). Default: none.
   */
  streamedNew?(doc: Wire<DocsByCollection[C]>): boolean;
  /**
   * What a streamed batch must be stored after (its own collection's earlier batches always are):
   * a message after the conversation streamed before it, so that no one replies into a
   * conversation this replica does not hold yet.
   */
  streamedAfter?(): Promise<unknown>;
  /** Streamed batches that may wait to be stored together (stream-buffer.ts). */
  hold?: StreamHold<Wire<DocsByCollection[C]>>;
  /**
   * Recent first: a replica without a checkpoint asks `sync:bootstrap` for the newest documents
   * instead of pulling its feed from the start, and records where the history walk begins.
   */
  bootstrap?: {
    pageSize: number;
    /** Messages only: see SyncTuning.bootstrapPagedConversations. */
    conversations?: number;
    begin(cursor: HistoryCursor | null): Promise<void>;
  };
}

type Doc<C extends CollectionName> = DocsByCollection[C];

/** How long the checkpoint of stored stream batches may wait to be written (deferCheckpoint). */
const STREAMED_CHECKPOINT_DELAY_MS = 1_000;

/**
 * One collection's replication over the socket: `sync:pull` as the pull handler, `sync:push`
 * as the push handler, `sync:stream` batches stored by the ServerDocWriter in RxDB's downstream
 * queue (a gap or a resync as pull.stream$'s RESYNC), plus a resync after every reconnect.
 */
export class CollectionSync<C extends CollectionName> {
  readonly state: RxReplicationState<Doc<C>, Checkpoint>;
  private readonly stream = new Subject<RxReplicationPullStreamItem<Doc<C>, Checkpoint>>();
  /** Orders streamed batches for RxDB: applied when it is idle, a pull only for a gap (stream-buffer.ts). */
  readonly streamBuffer: StreamBuffer<Wire<Doc<C>>>;
  private readonly attempts = new Map<string, number>();
  private readonly initial = new BehaviorSubject<InitialSyncProgress | null>(null);
  private readonly accepted = new Subject<string[]>();
  /**
   * Ids of rows the server acknowledged as stored, as their answer arrives: before RxDB has
   * recorded the push and before the server's copy (seq, sentAt) comes back on the stream.
   */
  readonly accepted$: Observable<string[]> = this.accepted.asObservable();
  private readonly arrived = new Subject<Wire<Doc<C>>[]>();
  /**
   * Documents of every `sync:stream` batch as it arrives, before the stream buffer orders it for
   * RxDB and before RxDB stores it (arrivals.ts shows new messages from here).
   */
  readonly arrived$: Observable<Wire<Doc<C>>[]> = this.arrived.asObservable();
  private readonly held = (doc: Wire<Doc<C>>) => !this.o.streamedNew?.(doc);
  /** The last streamed batch handed on, stored (or failed). */
  streamedStored: Promise<void> = Promise.resolve();
  /** The checkpoint of the streamed batches stored since it was last written (deferCheckpoint). */
  private unwrittenCheckpoint: Checkpoint | null = null;
  private checkpointTimer: ReturnType<typeof setTimeout> | null = null;
  /** Streamed batches queued in RxDB's downstream queue (storeStreamed). */
  private streamedQueued = 0;
  private firstPull = true;
  /** The last pull failed: RxDB's next call is its retry, not a new pull (stream-buffer.ts). */
  private pullRetry = false;
  private readonly detach: () => void;
  private readonly echoes: EchoRepair<Doc<C>>;
  private readonly repairSub: Subscription;
  /** Stores server documents that arrive outside this replication (history, pages). */
  readonly writer: ServerDocWriter<C>;
  readonly name: C;
  /** New documents pushed as they are written, before RxDB's upstream sees them (send-ahead.ts). */
  private readonly ahead: SendAhead<C>;

  constructor(private readonly o: CollectionSyncOptions<C>) {
    this.name = o.name;
    this.streamBuffer = new StreamBuffer<Wire<Doc<C>>>(
      (item) => {
        if (item === 'RESYNC') {
          // RxDB's pull reads the checkpoint after this write (both go through its checkpoint queue).
          void this.writeStreamedCheckpoint().catch(() => undefined);
          return this.stream.next(item);
        }
        // Seen when handed on, not on arrival: a batch held in the buffer is not yet an echo the
        // downstream could have skipped, and repairing it would write (and push) it ahead of the hold.
        this.echoes.saw(item.documents);
        this.storeStreamed(item);
      },
      // Batches enter RxDB's downstream queue as they are handed; a RESYNC goes through RxDB's stream.
      () => (this.state?.internalReplicationState?.stats.down.masterChangeStreamEmit ?? 0) + this.streamedQueued,
      () => (this.state?.internalReplicationState?.stats.down.addNewTask ?? 0) > 0,
      o.hold ?? null,
    );
    this.writer = new ServerDocWriter<C>(() => this.state?.internalReplicationState, o.collection.database);
    this.ahead = new SendAhead<C>({
      send: (doc) => {
        this.echoes.pushedIds([doc.id]);
        return request(o.socket, 'sync:push', { collection: o.name, rows: [{ newDocumentState: doc }] }, o.tuning.ackTimeoutMs, o.signal);
      },
      blockStream: () => this.streamBuffer.block(),
      accepted: (ids) => this.accepted.next(ids),
      expiryMs: o.tuning.ackTimeoutMs,
    });
    this.echoes = new EchoRepair(o.collection, () => this.state?.internalReplicationState);
    const onStream = (event: StreamEvent) => {
      if (event.collection !== o.name) return;
      if ('resync' in event) return this.streamBuffer.resync();
      const documents = event.documents as unknown as Wire<Doc<C>>[];
      this.arrived.next(documents);
      this.streamBuffer.batch({ documents, checkpoint: event.checkpoint });
    };
    // Whatever was streamed while disconnected is gone; pull from RxDB's own checkpoint.
    const onConnect = () => this.streamBuffer.reconnected();
    o.socket.on('sync:stream', onStream);
    o.socket.on('connect', onConnect);
    this.detach = () => {
      o.socket.off('sync:stream', onStream);
      o.socket.off('connect', onConnect);
    };

    this.state = replicateRxCollection<Doc<C>, Checkpoint>({
      collection: o.collection as RxCollection<Doc<C>, any, any, any>,
      replicationIdentifier: o.replicationIdentifier,
      live: true,
      retryTime: o.tuning.retryTimeMs,
      // Only the leader tab creates a replication (see leadership.ts), and it stops it when it
      // leaves the election; RxDB's own elector would be a second contender for the role.
      waitForLeadership: false,
      // RxDB 17 defaults this to true, which lets a visible non-leader tab replicate too
      // (duplicate pushes). One tab, the leader, replicates; the others read the shared replica.
      toggleOnDocumentVisible: false,
      autoStart: true,
      pull: {
        batchSize: o.tuning.pullBatchSize,
        handler: (checkpoint, batchSize) => this.pull(checkpoint ?? null, batchSize),
        stream$: this.stream.asObservable(),
      },
      push: {
        batchSize: o.tuning.pushBatchSize,
        modifier: (doc) => (o.skipPush?.(doc as Wire<Doc<C>>) ? null : doc),
        handler: (rows) => this.push(rows),
      },
    });
    this.repairSub = this.state.active$
      .pipe(
        filter((active) => !active),
        debounceTime(250),
      )
      .subscribe(() => void this.echoes.repair().catch(() => undefined));
    // The buffer hands batches to RxDB only while its downstream and upstream are idle.
    this.state.startPromise
      .then(() => {
        const internal = this.state.internalReplicationState;
        if (!internal || this.o.signal.aborted) return;
        this.repairSub.add(
          combineLatest([internal.events.active.down, internal.events.active.up]).subscribe(([down, up]) =>
            this.streamBuffer.activity(down, up),
          ),
        );
      })
      .catch(() => undefined);
  }

  get initialSync$(): Observable<InitialSyncProgress | null> {
    return this.initial.asObservable();
  }

  private async pull(checkpoint: Checkpoint | null, batchSize: number) {
    // RxDB counts the pull as started from here (a RESYNC it queues now brings another pull).
    this.streamBuffer.pullStarted(!this.pullRetry);
    this.pullRetry = true;
    if (this.firstPull) {
      this.firstPull = false;
      if (checkpoint === null) this.initial.next({ received: 0, done: false });
      await this.localWritesPushed();
    }
    let answer: Awaited<ReturnType<typeof this.pullOnce>>;
    // A pull from a checkpoint (a reconnect's catch-up, a gap) is stored here, page by page.
    let storeHere = checkpoint !== null;
    try {
      answer = await this.pullOnce(checkpoint, batchSize);
    } catch (err) {
      if (err instanceof ServerError && err.code === 'INVALID_CHECKPOINT') {
        // The server lost its data (restored backup, new store): read its feed from the start.
        this.streamBuffer.pullStarted(false);
        answer = await this.pullOnce(null, batchSize, { replicaHoldsData: true });
        storeHere = false;
      } else {
        throw err;
      }
    }
    if (storeHere && answer.documents.length > 0) answer = await this.storeCatchUp(answer, batchSize);
    this.pullRetry = false;
    const progress = this.initial.value;
    if (progress && !progress.done) {
      this.initial.next({ received: progress.received + answer.received, done: answer.documents.length < batchSize });
    }
    return { documents: answer.documents, checkpoint: answer.checkpoint };
  }

  /**
   * RxDB's first pull after a start is not held back while the push runs (later pulls are).
   * When the server already stored a local write whose answer never arrived (crash, lost ack),
   * a pull that comes first is skipped for that document (it has unpushed changes), the
   * re-push is a no-op on the server, and the replica would keep its own state (seq 0,
   * "pending") until the document changes again. So the first pull waits until the local
   * writes have been pushed, bounded so that a push the server keeps refusing cannot hold
   * the download back for long.
   */
  private async localWritesPushed(): Promise<void> {
    const internal = this.state.internalReplicationState;
    if (!internal) return;
    const aborted = new Promise<void>((resolve) => this.o.signal.addEventListener('abort', () => resolve(), { once: true }));
    const settled = firstValueFrom(
      combineLatest([internal.firstSyncDone.up, internal.events.active.up]).pipe(
        filter(([done, active]) => done && !active),
        timeout({ first: this.o.tuning.ackTimeoutMs, with: () => of(null) }),
      ),
      { defaultValue: null },
    );
    await Promise.race([settled, aborted]);
  }

  /**
   * `replicaHoldsData`: a pull from the start after the server lost its data. The replica's
   * documents may carry sequences the server no longer has, so a bootstrap answer goes RxDB's
   * own way (its states replace the replica's) instead of the writer's, which keeps a copy with
   * a higher sequence.
   */
  private async pullOnce(checkpoint: Checkpoint | null, batchSize: number, { replicaHoldsData = false } = {}) {
    const o = this.o;
    const bootstrap = checkpoint === null && o.bootstrap;
    // A new replica's bootstrap is stored here and RxDB gets an empty answer: it pulls no more.
    const storedHere = bootstrap && !replicaHoldsData;
    // The stream buffer learns of the answer as it arrives, before the stream events after it.
    let told = false;
    const tell = (answer: unknown) => {
      if (told) return;
      told = true;
      if (isErrorBody(answer)) return this.streamBuffer.pullFailed(false);
      const result = answer as { documents: unknown[]; checkpoint: Checkpoint | null };
      const more = !storedHere && result.documents.length >= batchSize;
      // Where the server put this socket's cursor: a bootstrap always sets it, a pull of an empty feed leaves it.
      this.streamBuffer.pullAnswered(result.checkpoint?.seq ?? (bootstrap ? 0 : null), more);
    };
    try {
      const result = bootstrap
        ? await this.bootstrap(bootstrap)
        : await request(o.socket, 'sync:pull', { collection: o.name, checkpoint, batchSize }, o.tuning.ackTimeoutMs, o.signal, tell);
      tell(result);
      const documents = result.documents as unknown as Wire<Doc<C>>[];
      this.echoes.saw(documents);
      const answerCheckpoint = (result.checkpoint ?? checkpoint) as Checkpoint;
      if (storedHere) await this.storeBootstrap(documents, result.checkpoint);
      return { documents: storedHere ? [] : documents, checkpoint: answerCheckpoint, received: documents.length };
    } catch (err) {
      if (!told) {
        told = true;
        this.streamBuffer.pullFailed(!(err instanceof ServerError));
      }
      throw err;
    }
  }

  /**
   * A pull from a checkpoint (a reconnect's catch-up, the pull for a gap), stored the way the
   * bootstrap and the history walk store pages (ServerDocWriter: a document the replica does not
   * hold is one insert plus its master-state row, with no reads; one it holds goes the careful
   * way; one with changes not yet pushed is left to its push), then RxDB's checkpoint, page after
   * page until a short one. RxDB gets an answer without documents, so it pulls no more. RxDB's
   * downstream read every pulled document and its master state before writing both: a catch-up
   * of 1,000 messages took 720–1,250 ms in Node before, 550–870 ms this way (docs/performance.md).
   */
  private async storeCatchUp(first: { documents: Wire<Doc<C>>[]; checkpoint: Checkpoint; received: number }, batchSize: number) {
    const state = this.state.internalReplicationState;
    if (!state) throw new ReplicationStoppedError();
    let page = first;
    let received = first.received;
    for (;;) {
      await this.writer.writeInDownstream(page.documents, { masterStates: true });
      await setCheckpoint(state, 'down', page.checkpoint);
      if (page.documents.length < batchSize) break;
      // Not RxDB's own pull: a RESYNC it was given meanwhile still brings another.
      this.streamBuffer.pullStarted(false);
      const next = await this.pullOnce(page.checkpoint, batchSize);
      received += next.received;
      if (next.documents.length === 0) break;
      page = next;
    }
    return { documents: [], checkpoint: page.checkpoint, received };
  }

  /**
   * A streamed batch, stored in RxDB's downstream queue the way a catch-up page is
   * (ServerDocWriter: a new document is one insert plus its master-state row, with no reads; one
   * the replica holds goes the careful way, as RxDB's downstream would store it); RxDB's
   * checkpoint follows (deferCheckpoint). RxDB's downstream read every streamed document and its
   * master state, then wrote both with a read before each write. The task says it is active as RxDB's own tasks do: the
   * stream buffer hands the next batch once it has seen it run and end. A batch that cannot be
   * stored is pulled again: its checkpoint is not stored, and a RESYNC pulls from the last one.
   */
  private storeStreamed(batch: StreamBatch<Wire<Doc<C>>>): void {
    const state = this.state.internalReplicationState;
    if (!state) return;
    this.streamedQueued++;
    const after = this.o.streamedAfter?.();
    const task = state.streamQueue.down.then(async () => {
      if (state.events.canceled.getValue()) return;
      state.events.active.down.next(true);
      try {
        await after;
        await this.writer.writeInDownstream(batch.documents, { masterStates: true, held: this.held });
        this.deferCheckpoint(batch.checkpoint);
      } catch (err) {
        if (!state.events.canceled.getValue()) {
          state.events.error.next(err as never);
          this.streamBuffer.resync();
        }
      } finally {
        state.events.active.down.next(false);
      }
    });
    state.streamQueue.down = task;
    this.streamedStored = task;
  }

  /**
   * The checkpoint of streamed batches is written once per `STREAMED_CHECKPOINT_DELAY_MS` after
   * the first batch stored since the last write, not after every batch: each write was a
   * readwrite transaction per message on each device. Only a pull reads it (a RESYNC writes it
   * first). A crash, a reload or a stop before the write pulls those batches again: the writer
   * keeps what the replica holds.
   */
  private deferCheckpoint(checkpoint: Checkpoint): void {
    this.unwrittenCheckpoint = checkpoint;
    this.checkpointTimer ??= setTimeout(() => {
      this.checkpointTimer = null;
      void this.writeStreamedCheckpoint().catch(() => undefined);
    }, STREAMED_CHECKPOINT_DELAY_MS);
  }

  /** The unwritten checkpoint of streamed batches, if any, no longer waiting for its timer. */
  private takeStreamedCheckpoint(): Checkpoint | null {
    if (this.checkpointTimer !== null) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
    const checkpoint = this.unwrittenCheckpoint;
    this.unwrittenCheckpoint = null;
    return checkpoint;
  }

  private writeStreamedCheckpoint(): Promise<void> {
    const checkpoint = this.takeStreamedCheckpoint();
    const state = this.state.internalReplicationState;
    if (!checkpoint || !state) return Promise.resolve();
    // A pull stored a later one meanwhile (it follows a RESYNC, which writes this first; kept as a guard).
    const stored = state.lastCheckpointDoc.down?.checkpointData as Checkpoint | undefined;
    if (stored && stored.seq >= checkpoint.seq) return Promise.resolve();
    return setCheckpoint(state, 'down', checkpoint);
  }

  /**
   * A new replica's bootstrap, stored as the history walk stores its pages (ServerDocWriter:
   * one insert per document, no master-state rows) instead of RxDB's downstream (four reads and
   * two writes per document), then RxDB's checkpoint. This runs inside RxDB's downstream task,
   * so no stream batch is applied meanwhile. A crash before the checkpoint is stored bootstraps
   * again, and the writer keeps what it holds. RxDB then gets an answer without documents.
   */
  private async storeBootstrap(documents: Wire<Doc<C>>[], checkpoint: Checkpoint | null): Promise<void> {
    const state = this.state.internalReplicationState;
    if (!state) throw new ReplicationStoppedError();
    await this.writer.writeBootstrap(documents);
    // RxDB stores a checkpoint only with documents; an empty feed has none to store.
    if (checkpoint) await setCheckpoint(state, 'down', checkpoint);
  }

  /**
   * The newest documents and the checkpoint they are current at (storeBootstrap stores them, or
   * RxDB as a pull answer). The history walk below that checkpoint is recorded first: a crash
   * before the checkpoint is stored just bootstraps again.
   */
  private async bootstrap(options: NonNullable<CollectionSyncOptions<C>['bootstrap']>) {
    const o = this.o;
    const result = await request(
      o.socket,
      'sync:bootstrap',
      { collection: o.name, pageSize: options.pageSize, conversations: options.conversations },
      o.tuning.ackTimeoutMs,
      o.signal,
    );
    const recorded = options.begin(result.history);
    // Nothing below the checkpoint to lose: do not hold the downstream (a stream event that
    // arrives meanwhile would become a resync) for a write whose loss costs nothing.
    if (result.history) await recorded;
    else recorded.catch(() => undefined);
    return result;
  }

  private async push(rxRows: RxReplicationWriteToMasterRow<Doc<C>>[]): Promise<Wire<Doc<C>>[]> {
    const o = this.o;
    // Rows sent ahead are on the wire already: only their answer is still to come.
    const { ahead, rest: fresh } = this.ahead.take(rxRows.map(toPushRow) as PushRow<C>[]);
    let rest = await withoutUnchangedServerCopies(fresh, this.state.internalReplicationState);
    if (o.beforePush && rest.length > 0) {
      const gated = await o.beforePush(rest);
      if (gated.failed.length > 0) await o.recordFailures(gated.failed);
      rest = gated.rows;
    }
    const rows = [...ahead.map((a) => a.row), ...rest];
    if (rows.length === 0) return [];
    // Before sending: the server streams the commit before it answers.
    this.echoes.pushedIds(rest.map((r) => r.newDocumentState.id));
    const [answers, restResult] = await Promise.all([
      Promise.all(ahead.map((a) => a.answer)),
      rest.length > 0 ? request(o.socket, 'sync:push', { collection: o.name, rows: rest }, o.tuning.ackTimeoutMs, o.signal) : null,
    ]);
    const result: PushResult = {
      conflicts: [...answers.flatMap((a) => a.conflicts), ...(restResult?.conflicts ?? [])],
      rejected: [...answers.flatMap((a) => a.rejected), ...(restResult?.rejected ?? [])],
    };
    const outcome = classifyPushResult<Wire<Doc<C>>>(result, this.attempts, o.tuning.maxRetryAttempts);
    for (const row of rows) {
      if (!outcome.retry.some((r) => r.id === row.newDocumentState.id)) this.attempts.delete(row.newDocumentState.id);
    }
    const refused = [...outcome.failed, ...outcome.retry];
    // A refusal without an id may concern any row: then none counts as stored here.
    if (!refused.some((r) => r.id === null)) {
      const notStored = new Set<string | null>([...refused.map((r) => r.id), ...outcome.conflicts.map((c) => c.id)]);
      // Rows sent ahead were announced when their answer came.
      const stored = rest.map((r) => r.newDocumentState.id).filter((id) => !notStored.has(id));
      if (stored.length > 0) this.accepted.next(stored);
    }
    if (outcome.failed.length > 0) await o.recordFailures(outcome.failed);
    if (outcome.retry.length > 0) throw new RetryLaterError(outcome.retry);
    return outcome.conflicts;
  }

  /**
   * Pushes a document this tab is writing now, a creation, before RxDB's upstream sees it
   * (send-ahead.ts); `stored` is the local write. The caller checks that nothing written
   * earlier is still waiting to be pushed (`upstreamIdle`).
   */
  sendAhead(doc: Wire<Doc<C>>, stored: Promise<unknown>): void {
    this.ahead.send(doc, stored);
  }

  /** RxDB's upstream has nothing to push, and nothing sent ahead is waiting for it. */
  get upstreamIdle(): boolean {
    const internal = this.state.internalReplicationState;
    return !!internal && !internal.events.active.up.getValue() && this.ahead.pending === 0;
  }

  async stop(): Promise<void> {
    this.ahead.clear();
    this.detach();
    this.streamBuffer.close();
    this.repairSub.unsubscribe();
    // Stopping writes nothing: it runs in the page's `freeze` handler too (leadership.ts), and an
    // IndexedDB transaction begun there stays open while the page is frozen, holding the meta
    // store the next leader tab writes. The next start pulls the unwritten batches again.
    this.takeStreamedCheckpoint();
    await this.state.cancel();
    this.initial.complete();
    this.accepted.complete();
    this.arrived.complete();
    this.stream.complete();
  }
}

/**
 * RxDB's row without `undefined` keys or RxDB's own bookkeeping, which the server's strict
 * validators would refuse. A schema migration copies the replication's assumed master states
 * with an `_attachments: {}` (replica-migration.test.ts): sent as is, every write made before the
 * migration and pushed after it was refused for good.
 */
function toPushRow<T>(row: RxReplicationWriteToMasterRow<T>): { assumedMasterState: unknown; newDocumentState: unknown } {
  return {
    assumedMasterState: row.assumedMasterState ? withoutRxInternals(row.assumedMasterState) : null,
    newDocumentState: withoutRxInternals(row.newDocumentState),
  };
}

const RX_INTERNAL_KEYS = ['_attachments', '_meta', '_rev'] as const;

function withoutRxInternals<T>(doc: T): T {
  if (!RX_INTERNAL_KEYS.some((k) => k in (doc as object))) return doc;
  const copy = { ...doc } as Record<string, unknown>;
  for (const k of RX_INTERNAL_KEYS) delete copy[k];
  return copy as T;
}
