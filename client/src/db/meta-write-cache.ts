import type { BulkWriteRow, RxStorage } from 'rxdb';
import { MetaInstanceWrapper, type MetaDoc, wrapMetaInstances } from './meta-instance-wrapper';

/** Master-state rows kept per meta instance: the documents of the last few thousand writes. */
export const META_CACHE_SIZE = 2_000;

/**
 * Each replication's meta instance holds RxDB's master state of every replicated document (what
 * the server last said about it). It is read before nearly every write of a document: by RxDB's
 * upstream before a push (`getAssumedMasterState`) and by the writer before it stores a server
 * state (an echo, a stamp). Most of those reads are of a row this same instance wrote moments
 * before (the push's master state, then its echo's, then its stamp's): ~2.5 readonly IndexedDB
 * transactions per message across sender and recipient.
 *
 * This storage wrapper keeps the documents the instance itself wrote, as written, and answers
 * reads of them without IndexedDB. It is exact because nothing else writes these rows: a meta
 * instance is used by the replication of one tab (the leader's; another tab that becomes leader
 * opens its own instance and cache), and rows are cached only once their write succeeded (a
 * refused one is forgotten). Reads of rows it did not write go to IndexedDB and are not kept: a
 * read that raced a write could otherwise keep the older state. Copies go in and out, so no
 * caller can change what another reads.
 */
export function cacheMetaInstanceWrites<S extends RxStorage<any, any>>(storage: S, size = META_CACHE_SIZE): S {
  return wrapMetaInstances(storage, (instance) => new MetaWriteCache(instance, size));
}

class MetaWriteCache extends MetaInstanceWrapper {
  /** Insertion order is recency: a write moves its row to the end, the oldest leave first. */
  private readonly written = new Map<string, MetaDoc>();
  /** Writes of a row not yet answered. */
  private readonly inFlight = new Map<string, number>();

  constructor(
    inner: MetaInstanceWrapper['inner'],
    private readonly size: number,
  ) {
    super(inner);
  }

  override storedBelow(rows: BulkWriteRow<MetaDoc>[]): void {
    for (const row of rows) if (!this.inFlight.has(row.document.id)) this.remember(structuredClone(row.document));
  }

  override async bulkWrite(rows: BulkWriteRow<MetaDoc>[], context: string) {
    // A row's state is unknown while a write of it is in flight: reads of it go to IndexedDB,
    // and only the last of overlapping writes may leave its document here.
    for (const row of rows) {
      this.written.delete(row.document.id);
      this.inFlight.set(row.document.id, (this.inFlight.get(row.document.id) ?? 0) + 1);
    }
    const copies = rows.map((row) => structuredClone(row.document));
    let refused = new Set<string>(copies.map((d) => d.id));
    try {
      const result = await this.inner.bulkWrite(rows, context);
      refused = new Set(result.error.map((e) => e.documentId));
      return result;
    } finally {
      for (const doc of copies) {
        const left = (this.inFlight.get(doc.id) ?? 1) - 1;
        if (left > 0) this.inFlight.set(doc.id, left);
        else this.inFlight.delete(doc.id);
        if (left === 0 && !refused.has(doc.id)) this.remember(doc);
      }
    }
  }

  private remember(doc: MetaDoc): void {
    this.written.delete(doc.id);
    this.written.set(doc.id, doc);
    while (this.written.size > this.size) this.written.delete(this.written.keys().next().value!);
  }

  override async findDocumentsById(ids: string[], withDeleted: boolean): Promise<MetaDoc[]> {
    const found: MetaDoc[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const doc = this.written.get(id);
      if (!doc) missing.push(id);
      else if (withDeleted || !doc._deleted) found.push(structuredClone(doc));
    }
    if (missing.length === 0) return found;
    const read = await this.inner.findDocumentsById(missing, withDeleted);
    return found.length === 0 ? read : [...found, ...read];
  }

  override cleanup(minimumDeletedTime: number): Promise<boolean> {
    this.written.clear();
    return this.inner.cleanup(minimumDeletedTime);
  }

  override close(): Promise<void> {
    this.written.clear();
    return this.inner.close();
  }

  override remove(): Promise<void> {
    this.written.clear();
    return this.inner.remove();
  }
}
