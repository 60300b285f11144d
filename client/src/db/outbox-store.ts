import type { CollectionName, RejectedRow } from '@fetchwork/shared-schema';
import { map, type Observable } from 'rxjs';
import type { OutboxCollection } from './collections';
import { type OutboxDoc, outboxId } from './outbox-schema';

export interface Failure {
  code: string;
  message: string;
}

/** Reads and writes of the outbox collection (see outbox-schema.ts). Safe from any tab. */
export class OutboxStore {
  constructor(private readonly col: OutboxCollection) {}

  async markPending(collection: CollectionName, docId: string): Promise<void> {
    await this.col.upsert(entry(collection, docId, 'pending', null));
  }

  async markFailed(collection: CollectionName, rows: readonly RejectedRow[]): Promise<void> {
    const docs = rows.flatMap((r) => (r.id === null ? [] : [entry(collection, r.id, 'failed', { code: r.code, message: r.message })]));
    if (docs.length > 0) await this.col.bulkUpsert(docs);
  }

  /** Removes the entry unless it has become a failure meanwhile. */
  async clearPending(collection: CollectionName, docId: string): Promise<void> {
    const doc = await this.col.findOne(outboxId(collection, docId)).exec();
    if (doc && doc.state === 'pending') await doc.remove().catch(() => undefined);
  }

  async remove(collection: CollectionName, docId: string): Promise<void> {
    const doc = await this.col.findOne(outboxId(collection, docId)).exec();
    if (doc) await doc.remove().catch(() => undefined);
  }

  async failure(collection: CollectionName, docId: string): Promise<Failure | null> {
    const doc = await this.col.findOne(outboxId(collection, docId)).exec();
    return doc && doc.state === 'failed' ? { code: doc.code ?? 'UNKNOWN', message: doc.message ?? '' } : null;
  }

  pending(): Promise<OutboxDoc[]> {
    return this.col
      .find({ selector: { state: 'pending' } })
      .exec()
      .then((docs) => docs.map((d) => d.toJSON() as OutboxDoc));
  }

  /** Ids of the documents of one collection with a write the server has not confirmed. */
  pendingDocIds$(collection: CollectionName): Observable<string[]> {
    return this.col.find({ selector: { state: 'pending', target: collection } }).$.pipe(map((docs) => docs.map((d) => d.docId)));
  }

  /** Ids of the documents of one collection with an entry (pending or failed). */
  docIds$(collection: CollectionName): Observable<string[]> {
    return this.col.find({ selector: { target: collection } }).$.pipe(map((docs) => docs.map((d) => d.docId)));
  }

  /** Failed writes by document id (message and conversation ids never collide). */
  failures$(): Observable<Map<string, Failure & { collection: CollectionName }>> {
    return this.col
      .find({ selector: { state: 'failed' } })
      .$.pipe(
        map((docs) => new Map(docs.map((d) => [d.docId, { collection: d.target, code: d.code ?? 'UNKNOWN', message: d.message ?? '' }]))),
      );
  }
}

function entry(collection: CollectionName, docId: string, state: OutboxDoc['state'], failure: Failure | null): OutboxDoc {
  return {
    id: outboxId(collection, docId),
    target: collection,
    docId,
    state,
    // A newer server may send a code this version does not know: stored as it is, within the schema.
    code: failure ? failure.code.slice(0, 64) : null,
    message: failure ? failure.message.slice(0, 1000) : null,
    at: new Date().toISOString(),
  };
}
