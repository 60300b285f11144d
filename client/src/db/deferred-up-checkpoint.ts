import type { BulkWriteRow, RxDocumentData, RxStorage, RxStorageBulkWriteResponse } from 'rxdb';
import { MetaInstanceWrapper, wrapMetaInstances } from './meta-instance-wrapper';

/** The context RxDB's replication protocol writes its checkpoints with (replication-protocol/checkpoint.js). */
const CHECKPOINT_CONTEXT = 'replication-set-checkpoint';

/** How long a deferred upstream checkpoint may wait before it is stored (a close drops it). */
export const UP_CHECKPOINT_DELAY_MS = 1_000;

interface CheckpointDoc {
  id: string;
  isCheckpoint?: string;
  itemId?: string;
}

const isUpCheckpoint = (row: BulkWriteRow<CheckpointDoc>) => row.document.isCheckpoint === '1' && row.document.itemId === 'up';

/**
 * RxDB's upstream stores its checkpoint (where it resumes reading the replica's own changes) after
 * every change event of the replica, also for the changes it skips because the replication wrote
 * them itself: every stored server document, stamp and echo. That was one IndexedDB readwrite
 * transaction per stored batch on each device (~3.5 per message across sender and recipient),
 * for a position that is only read when the replication starts again.
 *
 * This storage wrapper answers those writes at once and stores only the latest, at most
 * `delayMs` later. Closing the instance drops a pending one instead of storing it: RxDB closes it
 * when the replication stops, which happens in the page's `freeze` handler too (leadership.ts),
 * and a transaction begun there stays open while the page is frozen, holding the store for the
 * tab that replicates next. Nothing else changes: every other write of the replication's meta
 * instance (the master states, the downstream checkpoint) goes through as it came, and reads of
 * the upstream checkpoint see the latest one. An upstream checkpoint that is older than the true
 * one (a crash or a close inside the delay) is safe: at the next start RxDB reads the replica's
 * changes since it again and pushes only documents that differ from their stored master state,
 * which the pushed ones do not.
 */
export function deferUpstreamCheckpoints<S extends RxStorage<any, any>>(storage: S, delayMs = UP_CHECKPOINT_DELAY_MS): S {
  return wrapMetaInstances(storage, (instance) => new DeferredUpCheckpoint(instance, delayMs));
}

class DeferredUpCheckpoint extends MetaInstanceWrapper {
  private pending: RxDocumentData<CheckpointDoc> | null = null;
  /** The upstream checkpoint as stored (null: none yet); undefined until read. */
  private stored: RxDocumentData<CheckpointDoc> | null | undefined;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Stores run one after another, each over what the previous one stored. */
  private storing: Promise<void> = Promise.resolve();

  constructor(
    inner: MetaInstanceWrapper['inner'],
    private readonly delayMs: number,
  ) {
    super(inner);
  }

  override bulkWrite(rows: BulkWriteRow<CheckpointDoc>[], context: string): Promise<RxStorageBulkWriteResponse<CheckpointDoc>> {
    if (context !== CHECKPOINT_CONTEXT || rows.length !== 1 || !isUpCheckpoint(rows[0]!)) return this.inner.bulkWrite(rows, context);
    this.pending = rows[0]!.document;
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.store();
    }, this.delayMs);
    return Promise.resolve({ error: [] });
  }

  override async findDocumentsById(ids: string[], withDeleted: boolean): Promise<RxDocumentData<CheckpointDoc>[]> {
    const found = await this.inner.findDocumentsById(ids, withDeleted);
    const pending = this.pending;
    if (!pending || !ids.includes(pending.id)) return found;
    return [...found.filter((d) => d.id !== pending.id), pending];
  }

  override async close(): Promise<void> {
    this.drop();
    // A store that already began finishes first.
    await this.storing;
    return this.inner.close();
  }

  override remove(): Promise<void> {
    this.drop();
    return this.inner.remove();
  }

  /** Stores the latest deferred checkpoint over whatever is stored now. */
  private store(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.storing = this.storing
      .then(async () => {
        const doc = this.pending;
        if (!doc) return;
        // What this instance stored last is what is stored: only this tab's replication writes it.
        this.stored ??= (await this.inner.findDocumentsById([doc.id], true))[0] ?? null;
        const result = await this.inner.bulkWrite([{ previous: this.stored ?? undefined, document: doc }], CHECKPOINT_CONTEXT);
        // Not stored (a conflict): read it again next time; the stored, older checkpoint is safe.
        this.stored = result.error.length === 0 ? doc : undefined;
        // A newer one deferred meanwhile stays pending.
        if (this.pending === doc && result.error.length === 0) this.pending = null;
      })
      .catch(() => undefined);
    return this.storing;
  }

  private drop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }
}
