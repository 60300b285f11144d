import type { Checkpoint } from '@fetchwork/shared-schema';

export interface StreamBatch<T> {
  documents: T[];
  checkpoint: Checkpoint;
}

/** What the buffer hands to RxDB's `pull.stream$`. */
export type StreamOutput<T> = StreamBatch<T> | 'RESYNC';

/**
 * Batches that may wait before they are applied, so that several arriving close together are
 * stored in one write: changes nothing on screen needs at once (summary-hold.ts, receipt-hold.ts).
 */
export interface StreamHold<T> {
  ms: number;
  /** True when nothing in the batch needs to be applied at once. */
  mayWait(batch: StreamBatch<T>): boolean;
}

/**
 * Orders `sync:stream` batches for RxDB (docs/client.md, "Replication").
 *
 * The server streams documents to a socket only when they continue exactly from the position
 * it last sent that socket (a pull or bootstrap answer, or the previous batch), else it sends
 * `{ resync: true }`. Socket.io keeps the order, so the client knows that position too: it is
 * the last answer or batch received on this connection. The buffer keeps it and sorts every
 * batch into one of three cases:
 *
 * - **continues**: appended to the buffer. The buffer is handed on as one batch (the sink stores
 *   it in RxDB's downstream queue) when RxDB's downstream and upstream are idle and nothing
 *   handed before is still unprocessed, so a burst that arrives while the replica stores or
 *   pushes is applied in order, once, without a pull.
 * - **gap** (position unknown: nothing answered yet on this connection, a pull answer lost, a
 *   batch with a document at or below the position) and `{ resync: true }`: RxDB is told
 *   `RESYNC`, a pull from its own checkpoint. What is buffered is dropped: it was received
 *   before that pull was sent, so the pull (which RxDB repeats until a short page) brings it.
 * - **during a pull**: the server answers a pull from its store, and a batch it streamed while
 *   the pull was running may or may not be in the answer. Such batches wait for the answer:
 *   covered (at or below the answer's checkpoint, or RxDB pulls again after a full page) they
 *   are dropped; otherwise they are a gap. RxDB would apply them after the pull, putting older
 *   states back.
 *
 * RxDB detail this relies on: its downstream drops a `RESYNC` queued behind a batch in the same
 * drain, and applies a batch queued behind a `RESYNC` after that pull. So at most one of the two
 * is ever outstanding: a `RESYNC` waits until a handed batch has been processed, and batches wait
 * until the pull a `RESYNC` asked for has started (which covers them).
 *
 * A `hold` lets continuing batches that may wait stay buffered up to `hold.ms` after the first
 * of them arrived, to be handed as one; a batch that may not wait flushes everything buffered.
 *
 * The client never makes up a checkpoint: it only passes on the server's.
 */
export class StreamBuffer<T extends { seq: number }> {
  /** The position the server believes this connection holds; null while unknown. */
  private position: number | null = null;
  private buffered: StreamBatch<T>[] = [];
  /** Batches received while a pull request was out. */
  private duringPull: StreamBatch<T>[] = [];
  private pullsOut = 0;
  /** A pull is needed and has not been asked of RxDB yet. */
  private resyncWanted = false;
  /** RESYNC given to RxDB, and no pull has started since. */
  private resyncQueued = false;
  /** A batch given to RxDB that it has not processed yet. */
  private handed = false;
  private handedSeenActive = false;
  private downActive = true;
  private upActive = true;
  private closed = false;
  /** Items given to the sink so far. */
  private emitted = 0;
  /** How often each output was produced (tests and diagnostics). */
  readonly counts = { batchesIn: 0, handed: 0, resyncs: 0, dropped: 0 };
  /** When the oldest buffered batch arrived, while every buffered batch may wait (see `hold`). */
  private heldSince: number | null = null;
  private holdTimer: ReturnType<typeof setTimeout> | null = null;
  /** Callers of `block` not yet done. */
  private blocks = 0;

  /**
   * @param accepted how many sink items have entered RxDB's downstream queue so far: a batch as
   *   it is handed, a RESYNC when RxDB takes it (`stats.down.masterChangeStreamEmit`; RxDB holds
   *   stream items in an async pipeline first, and longer while it pushes, so one given to it may
   *   enter its queue after a later pull started). A handed batch counts as processed once the
   *   downstream has been seen active and then idle.
   * @param listening whether RxDB's downstream has subscribed to the stream yet
   *   (`stats.down.addNewTask > 0`: it queues its first pull and subscribes in one step, after an
   *   await of its start). RxDB's stream subject drops what arrives before; a RESYNC given then
   *   would be lost and counted as queued for good, holding every later batch back.
   */
  constructor(
    private readonly sink: (item: StreamOutput<T>) => void,
    private readonly accepted: () => number = () => this.emitted,
    private readonly listening: () => boolean = () => true,
    private readonly hold: StreamHold<T> | null = null,
  ) {}

  /** A `sync:stream` batch arrived on the socket. */
  batch(batch: StreamBatch<T>): void {
    if (this.closed) return;
    this.counts.batchesIn++;
    if (this.pullsOut > 0) {
      this.duringPull.push(batch);
      return;
    }
    this.append(batch);
    this.flush();
  }

  /** `{ resync: true }` from the server. */
  resync(): void {
    if (this.closed) return;
    this.wantResync();
    this.flush();
  }

  /** A new connection: the server knows nothing of it until a pull is answered on it. */
  reconnected(): void {
    if (this.closed) return;
    this.position = null;
    this.duringPull = [];
    this.wantResync();
    this.flush();
  }

  /**
   * RxDB asks for a pull (or bootstrap) from its checkpoint; the request goes out after this.
   * `fresh`: RxDB started this pull now (it drops the RESYNCs queued before); false for its
   * retry of a failed pull, after which a RESYNC queued meanwhile still brings another pull.
   */
  pullStarted(fresh = true): void {
    this.pullsOut++;
    // Only when RxDB has every RESYNC given to it in its queue before this pull: then it drops
    // them (they are older than the pull). One still on its way is queued after: another pull.
    if (fresh && this.accepted() >= this.emitted) this.resyncQueued = false;
    // Received before this request is sent: the pull (repeated until a short page) brings them.
    this.drop(this.buffered);
    this.buffered = [];
    this.release();
    this.drop(this.duringPull);
    this.duringPull = [];
    // A batch RxDB has not processed yet will be applied after this pull: pull again afterwards
    // so that the newest states win.
    if (this.handed) this.resyncWanted = true;
  }

  /**
   * The answer is being handed to RxDB. `position` is where the server put this connection's
   * cursor (the answer's checkpoint), or null when it left it where it was (an empty feed).
   * `more`: a full page, so RxDB pulls again at once.
   */
  pullAnswered(position: number | null, more: boolean): void {
    this.pullsOut = Math.max(0, this.pullsOut - 1);
    const waiting = this.duringPull;
    this.duringPull = [];
    if (position === null) {
      // The cursor did not move: those batches continued from where it was.
      for (const b of waiting) this.append(b);
    } else {
      this.position = position;
      for (const b of waiting) {
        const last = lastSeq(b);
        if (more || last <= position) this.drop([b]);
        else this.wantResync();
      }
    }
    this.flush();
  }

  /**
   * The pull failed. `lost`: sent but unanswered (timeout, stopped), so the server may have
   * moved the cursor to a position RxDB never got; otherwise (a coded error) it did not move.
   */
  pullFailed(lost: boolean): void {
    this.pullsOut = Math.max(0, this.pullsOut - 1);
    const waiting = this.duringPull;
    this.duringPull = [];
    if (lost) {
      this.position = null;
      this.drop(waiting);
      // RxDB retries the pull; batches until its answer are gaps.
    } else {
      for (const b of waiting) this.append(b);
    }
    this.flush();
  }

  /** RxDB's `active.down` / `active.up`. */
  activity(down: boolean, up: boolean): void {
    if (this.handed) {
      if (down && this.accepted() >= this.emitted) this.handedSeenActive = true;
      else if (this.handedSeenActive) {
        this.handed = false;
        this.handedSeenActive = false;
      }
    }
    this.downActive = down;
    this.upActive = up;
    this.flush();
  }

  close(): void {
    this.closed = true;
    this.buffered = [];
    this.duringPull = [];
    this.release();
  }

  /**
   * Holds everything back (batches and a pull for a gap) until the returned function is called:
   * a message sent ahead of its local write (send-ahead.ts) must reach RxDB from the server only
   * after RxDB has stored and pushed it.
   */
  block(): () => void {
    this.blocks++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.blocks--;
      this.flush();
    };
  }

  /** Nothing buffered, handed, asked for or out (tests). */
  get settled(): boolean {
    return !this.resyncWanted && !this.resyncQueued && !this.handed && this.pullsOut === 0 && this.pending === 0;
  }

  /** Buffered batches not yet handed to RxDB (tests). */
  get pending(): number {
    return this.buffered.length + this.duringPull.length;
  }

  private append(batch: StreamBatch<T>): void {
    if (this.position === null || batch.documents.length === 0 || firstSeq(batch) <= this.position) {
      this.drop([batch]);
      this.wantResync();
      return;
    }
    this.buffered.push(batch);
    this.position = batch.checkpoint.seq;
    if (this.hold?.mayWait(batch)) {
      if (this.buffered.length === 1) this.heldSince = Date.now();
    } else {
      this.heldSince = null;
    }
  }

  /** Still within the hold: arms a timer for its end and returns true. */
  private holding(): boolean {
    if (!this.hold || this.heldSince === null) return false;
    const left = this.heldSince + this.hold.ms - Date.now();
    if (left <= 0) return false;
    this.holdTimer ??= setTimeout(() => {
      this.holdTimer = null;
      this.flush();
    }, left);
    return true;
  }

  private release(): void {
    this.heldSince = null;
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.holdTimer = null;
  }

  private wantResync(): void {
    this.resyncWanted = true;
    this.drop(this.buffered);
    this.buffered = [];
    this.release();
  }

  private drop(batches: StreamBatch<T>[]): void {
    this.counts.dropped += batches.length;
  }

  private flush(): void {
    if (this.closed || this.handed) return;
    if (!this.listening()) {
      // RxDB's first pull starts after it subscribes, so it brings everything received so far.
      this.resyncWanted = false;
      this.drop(this.buffered);
      this.buffered = [];
      this.release();
      return;
    }
    if (this.blocks > 0) return;
    if (this.resyncWanted) {
      // Not while RxDB holds stream events back (a push): the pull must be queued now, before
      // anything else is handed.
      if (this.upActive) return;
      this.resyncWanted = false;
      this.resyncQueued = true;
      this.drop(this.buffered);
      this.buffered = [];
      this.release();
      this.counts.resyncs++;
      this.emitted++;
      this.sink('RESYNC');
      return;
    }
    if (this.buffered.length === 0 || this.resyncQueued || this.pullsOut > 0 || this.downActive || this.upActive) return;
    if (this.holding()) return;
    const batches = this.buffered;
    this.buffered = [];
    this.release();
    const merged: StreamBatch<T> =
      batches.length === 1
        ? (batches[0] as StreamBatch<T>)
        : { documents: batches.flatMap((b) => b.documents), checkpoint: (batches[batches.length - 1] as StreamBatch<T>).checkpoint };
    this.handed = true;
    this.handedSeenActive = false;
    this.counts.handed++;
    this.emitted++;
    this.sink(merged);
  }
}

function firstSeq<T extends { seq: number }>(batch: StreamBatch<T>): number {
  let min = Number.POSITIVE_INFINITY;
  for (const d of batch.documents) if (d.seq < min) min = d.seq;
  return min;
}

function lastSeq<T extends { seq: number }>(batch: StreamBatch<T>): number {
  let max = batch.checkpoint.seq;
  for (const d of batch.documents) if (d.seq > max) max = d.seq;
  return max;
}
