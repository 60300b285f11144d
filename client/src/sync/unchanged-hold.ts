import type { Wire } from '@fetchwork/shared-schema';
import type { RxCollection } from 'rxdb';
import type { Subscription } from 'rxjs';
import type { StreamBatch, StreamHold } from './stream-buffer';

export interface UnchangedHoldOptions<T extends { id: string }> {
  ms: number;
  /** What of a document may not wait: a batch waits only if each document's equals the stored copy's. */
  identity(doc: T): string;
  /** The documents that may wait at all (default: every one). */
  concerns?(doc: T): boolean;
  /** How many of the most recently stored documents to remember (default: all). */
  remember?: number;
  /** Learn the documents already stored when it starts (for small collections). */
  preload?: boolean;
}

/**
 * A stream hold (stream-buffer.ts) for changes nothing on screen needs at once: a batch may wait
 * when every document in it is one this replica holds and differs from the stored copy only in
 * fields the identity leaves out. The stored copies are learned from the collection's change
 * events (this tab's writes, the replication's and other tabs').
 */
export class UnchangedHold<T extends { id: string }> implements StreamHold<Wire<T>> {
  readonly ms: number;
  /** Document id → its identity as this replica holds it (most recent last). */
  private readonly held = new Map<string, string>();
  private readonly sub: Subscription;

  constructor(
    collection: RxCollection<T>,
    private readonly o: UnchangedHoldOptions<T>,
  ) {
    this.ms = o.ms;
    this.sub = collection.$.subscribe((e) => {
      const doc = e.documentData as T | undefined;
      if (doc && this.concerns(doc)) this.remember(doc);
    });
    if (o.preload) {
      collection
        .find()
        .exec()
        .then((docs) => {
          for (const d of docs) {
            const doc = d.toJSON() as T;
            if (!this.held.has(doc.id) && this.concerns(doc)) this.remember(doc);
          }
        })
        .catch(() => undefined);
    }
  }

  mayWait(batch: StreamBatch<Wire<T>>): boolean {
    return batch.documents.every((d) => !d._deleted && this.concerns(d) && this.held.get(d.id) === this.o.identity(d));
  }

  stop(): void {
    this.sub.unsubscribe();
  }

  private concerns(doc: T): boolean {
    return this.o.concerns?.(doc) ?? true;
  }

  private remember(doc: T): void {
    this.held.delete(doc.id);
    this.held.set(doc.id, this.o.identity(doc));
    if (this.o.remember !== undefined && this.held.size > this.o.remember) this.held.delete(this.held.keys().next().value as string);
  }
}
