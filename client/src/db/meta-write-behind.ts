import type { BulkWriteRow, RxStorage, RxStorageBulkWriteResponse } from 'rxdb';
import { insertAbsent } from './insert-absent';
import { type InsertBelow, MetaInstanceWrapper, type MetaDoc, wrapMetaInstances } from './meta-instance-wrapper';

/** How long a replication's bookkeeping write may wait before it is stored (a close drops it). */
export const META_WRITE_DELAY_MS = 1_000;

/** The context of the writes that store what waited (nothing listens to a meta instance's changes by context). */
const STORE_CONTEXT = 'fetchwork-meta-write-behind';

const isCheckpoint = (row: BulkWriteRow<MetaDoc>) => (row.document as { isCheckpoint?: string }).isCheckpoint === '1';

interface Waiting {
  doc: MetaDoc;
  /** What IndexedDB holds under the row's id, as the first writer since the last store saw it (undefined: nothing). */
  base: MetaDoc | undefined;
}

/**
 * A replication's meta instance holds RxDB's master state of every replicated document and the
 * replication's checkpoints. Every change the server makes to a document the replica holds (the
 * answer to a push, its echo, a delivery or read stamp) rewrites the document's master-state row
 * right after the document: about half the readwrite IndexedDB transactions per message on each
 * device (4 of 7.3 on the sender, 3 of 4.9 on the recipient in a trace of twenty messages between
 * two Node replicas: docs/performance.md, sixteenth session), each in a database of its own, and
 * each awaited in RxDB's replication queues.
 *
 * This storage wrapper answers those writes at once and stores them together, at most `delayMs`
 * after the first one, in one transaction (two when some rows are new); reads see what waits.
 * Nothing else writes these rows (one tab's replication uses an instance), so the conflicts a
 * write would meet are the ones with what waits here, and those are answered as IndexedDB would.
 *
 * Closing the instance drops what waits, as `deferUpstreamCheckpoints` drops its checkpoint: RxDB
 * closes it when the replication stops, which happens in the page's `freeze` handler, and a
 * transaction begun there would hold the store for the tab that replicates next. A master state
 * or a checkpoint older than the truth (a close, a crash within the delay) is safe, as it is in
 * RxDB, whose writes of a document and of its master state are two transactions already: the next
 * start pulls again from the older checkpoint (the writer keeps the newer copy by seq), and a
 * document whose master state is older is pushed with that state and answered with the server's
 * own (a conflict that the shared handler settles, or a no-op): a round trip, never a change.
 */
export function deferMetaWrites<S extends RxStorage<any, any>>(storage: S, delayMs = META_WRITE_DELAY_MS): S {
  return wrapMetaInstances(storage, (instance) => new MetaWriteBehind(instance, delayMs));
}

class MetaWriteBehind extends MetaInstanceWrapper {
  /** Rows written and not yet asked of IndexedDB. */
  private waiting = new Map<string, Waiting>();
  /** Rows asked of IndexedDB and not yet answered: still read from here. */
  private readonly storing = new Map<string, MetaDoc>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Stores run one after another, each over what the previous one stored. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    inner: MetaInstanceWrapper['inner'],
    private readonly delayMs: number,
  ) {
    super(inner);
  }

  override async bulkWrite(rows: BulkWriteRow<MetaDoc>[], context: string): Promise<RxStorageBulkWriteResponse<MetaDoc>> {
    if (this.closed) throw new Error('the storage instance is closed');
    const error: RxStorageBulkWriteResponse<MetaDoc>['error'] = [];
    const checkpoints: BulkWriteRow<MetaDoc>[] = [];
    for (const row of rows) {
      if (isCheckpoint(row)) {
        checkpoints.push(row);
        continue;
      }
      const id = row.document.id;
      const held = this.waiting.get(id);
      const current = held?.doc ?? this.storing.get(id);
      if (current && row.previous?._rev !== current._rev) {
        error.push({ status: 409, isError: true, documentId: id, writeRow: row, documentInDb: structuredClone(current), context });
        continue;
      }
      // A row that waits keeps the base its first write saw; the caller's `previous` is then what waits.
      this.waiting.set(id, { doc: structuredClone(row.document), base: held ? held.base : row.previous });
    }
    this.schedule();
    // Checkpoints go through at once: where a replication resumes decides what it asks for again
    // (a bootstrap, a walk), and they are written per batch, not per document.
    if (checkpoints.length > 0) error.push(...(await this.inner.bulkWrite(checkpoints, context)).error);
    return { error };
  }

  /**
   * Rows new to the replica (insert-absent.ts): a row this instance holds is present; the others
   * wait like any write and are stored with one `add` each, or over the row IndexedDB turns out
   * to hold (an older copy's).
   */
  override async insertAbsent(rows: BulkWriteRow<MetaDoc>[], context: string, below: InsertBelow): Promise<string[]> {
    if (this.closed) throw new Error('the storage instance is closed');
    const present: string[] = [];
    const checkpoints = rows.filter(isCheckpoint);
    if (checkpoints.length > 0) present.push(...(await super.insertAbsent(checkpoints, context, below)));
    for (const row of rows) {
      if (isCheckpoint(row)) continue;
      const id = row.document.id;
      if (this.waiting.has(id) || this.storing.has(id)) present.push(id);
      else this.waiting.set(id, { doc: structuredClone(row.document), base: undefined });
    }
    this.schedule();
    return present;
  }

  override async findDocumentsById(ids: string[], withDeleted: boolean): Promise<MetaDoc[]> {
    const found: MetaDoc[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const doc = this.waiting.get(id)?.doc ?? this.storing.get(id);
      if (!doc) missing.push(id);
      else if (withDeleted || !doc._deleted) found.push(structuredClone(doc));
    }
    if (missing.length === 0) return found;
    const read = await this.inner.findDocumentsById(missing, withDeleted);
    return found.length === 0 ? read : [...found, ...read];
  }

  override async query(...args: Parameters<MetaInstanceWrapper['query']>) {
    await this.store();
    return this.inner.query(...args);
  }

  override async count(...args: Parameters<MetaInstanceWrapper['count']>) {
    await this.store();
    return this.inner.count(...args);
  }

  override async cleanup(minimumDeletedTime: number): Promise<boolean> {
    await this.store();
    return this.inner.cleanup(minimumDeletedTime);
  }

  override async close(): Promise<void> {
    this.drop();
    // A store that already began finishes first.
    await this.queue;
    return this.inner.close();
  }

  override remove(): Promise<void> {
    this.drop();
    return this.inner.remove();
  }

  private schedule(): void {
    if (this.timer === null && this.waiting.size > 0) this.timer = setTimeout(() => void this.store(), this.delayMs);
  }

  /** Stores what waits now, after the stores before it. */
  private store(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.waiting;
    this.waiting = new Map();
    for (const [id, w] of batch) this.storing.set(id, w.doc);
    this.queue = this.queue
      .then(() => (this.closed || batch.size === 0 ? undefined : this.write([...batch.values()])))
      // A row not stored stays older in IndexedDB, which is safe (see the function comment).
      .catch(() => undefined)
      .finally(() => {
        for (const [id, w] of batch) if (this.storing.get(id) === w.doc) this.storing.delete(id);
      });
    return this.queue;
  }

  private async write(rows: Waiting[]): Promise<void> {
    const inserts = rows.filter((w) => w.base === undefined);
    const updates = rows.filter((w) => w.base !== undefined);
    const over: Waiting[] = [];
    if (inserts.length > 0) {
      const present = new Set(
        await insertAbsent(
          this.inner,
          inserts.map((w) => ({ document: w.doc })),
          STORE_CONTEXT,
        ),
      );
      over.push(...inserts.filter((w) => present.has(w.doc.id)));
    }
    if (updates.length > 0) {
      const result = await this.inner.bulkWrite(
        updates.map((w) => ({ previous: w.base, document: w.doc })),
        STORE_CONTEXT,
      );
      const refused = new Set(result.error.map((e) => e.documentId));
      over.push(...updates.filter((w) => refused.has(w.doc.id)));
    }
    if (over.length === 0) return;
    // IndexedDB held another state than the writer saw (an older copy's row): this one is newer.
    const stored = new Map(
      (
        await this.inner.findDocumentsById(
          over.map((w) => w.doc.id),
          true,
        )
      ).map((d) => [d.id, d]),
    );
    await this.inner.bulkWrite(
      over.map((w) => ({ previous: stored.get(w.doc.id), document: w.doc })),
      STORE_CONTEXT,
    );
  }

  private drop(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.waiting.clear();
  }
}
