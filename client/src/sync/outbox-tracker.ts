import {
  type CollectionName,
  type ConversationDoc,
  type DocsByCollection,
  type MessageDoc,
  sameClientConversationState,
  sameClientMessageState,
  type Wire,
} from '@fetchwork/shared-schema';
import type { RxCollection } from 'rxdb';
import type { RxReplicationState } from 'rxdb/plugins/replication';
import { merge, type Observable, Subscription } from 'rxjs';
import type { OutboxStore } from '../db/outbox-store';

const sameClientState: { [C in CollectionName]: (a: Wire<DocsByCollection[C]>, b: Wire<DocsByCollection[C]>) => boolean } = {
  messages: (a, b) => sameClientMessageState(a as Wire<MessageDoc>, b as Wire<MessageDoc>),
  conversations: (a, b) => sameClientConversationState(a as Wire<ConversationDoc>, b as Wire<ConversationDoc>),
};

export interface TrackedCollection<C extends CollectionName> {
  name: C;
  collection: RxCollection<DocsByCollection[C]>;
  replication: RxReplicationState<DocsByCollection[C], unknown>;
  /** Server states stored past RxDB's downstream (ServerDocWriter: the stream, pulls, pages). */
  stored$: Observable<Wire<DocsByCollection[C]>>;
}

/**
 * Leader-side: a pending outbox entry is cleared once the server is known to hold what this
 * replica holds for the fields a client controls. That is learnt from a push that went
 * through (sent$), from a stored state pulled or streamed back (received$, stored$), or from a conflict
 * that resolved to the server's own state.
 */
export function trackOutbox(outbox: OutboxStore, tracked: TrackedCollection<CollectionName>[]): Subscription {
  const subs = tracked.map((t) => {
    // Only a document with a pending entry can be settled. Checking that in memory keeps pulled
    // history (thousands of documents nobody wrote here) from costing two IndexedDB reads each;
    // a confirmation that races its entry's write is left to the OutboxSweeper, as before.
    let pending = new Set<string>();
    const pendingSub = outbox.pendingDocIds$(t.name).subscribe((ids) => {
      pending = new Set(ids);
    });
    const same = sameClientState[t.name] as (a: Wire<unknown>, b: Wire<unknown>) => boolean;
    const settleIfCurrent = async (id: string, confirmed: Wire<unknown>) => {
      const doc = await t.collection.findOne(id).exec();
      if (doc && !same({ ...(doc.toJSON() as object), _deleted: false } as Wire<unknown>, confirmed)) return;
      await outbox.clearPending(t.name, id);
    };
    const sub = merge(t.replication.sent$, t.replication.received$, t.stored$).subscribe((doc) => {
      const d = doc as Wire<{ id: string }>;
      if (!pending.has(d.id)) return;
      settleIfCurrent(d.id, d).catch(() => undefined);
    });
    sub.add(pendingSub);
    return sub;
  });
  const conflictSubs = tracked.map((t) => {
    const same = sameClientState[t.name] as (a: Wire<unknown>, b: Wire<unknown>) => boolean;
    return t.replication.conflict$.subscribe(({ input, output }) => {
      const master = input.realMasterState as Wire<{ id: string }>;
      if (same(output as Wire<unknown>, master)) {
        outbox.clearPending(t.name, master.id).catch(() => undefined);
      }
    });
  });
  const all = new Subscription();
  for (const s of [...subs, ...conflictSubs]) all.add(s);
  return all;
}

/**
 * Safety net for entries the events above cannot settle: a tab that closed between a push and
 * the clearing of its entry (RxDB will not push that document again), or a confirmation that
 * arrived before the entry was written. RxDB's awaitDocumentPushed resolves at once for a
 * document whose current state it already pushed, so sweeping when replication goes idle
 * settles those; one watcher per entry at most.
 */
export class OutboxSweeper {
  private readonly watching = new Set<string>();
  /** One listener on the engine's signal for every watch (one per watch piled up, and leaked). */
  private readonly aborted: Promise<void>;

  constructor(
    private readonly outbox: OutboxStore,
    private readonly tracked: TrackedCollection<CollectionName>[],
    private readonly signal: AbortSignal,
  ) {
    this.aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  async sweep(): Promise<void> {
    const entries = await this.outbox.pending();
    for (const e of entries) {
      if (this.watching.has(e.id) || this.signal.aborted) continue;
      this.watching.add(e.id);
      this.watch(e.target, e.docId)
        .catch(() => undefined)
        .finally(() => this.watching.delete(e.id));
    }
  }

  private async watch(collection: CollectionName, docId: string): Promise<void> {
    const t = this.tracked.find((x) => x.name === collection);
    if (!t) return;
    const doc = await t.collection.findOne(docId).exec();
    if (!doc) {
      await this.outbox.clearPending(collection, docId);
      return;
    }
    await Promise.race([t.replication.awaitDocumentPushed(doc), this.aborted]);
    if (this.signal.aborted) return;
    const now = await t.collection.findOne(docId).exec();
    if (now && now.revision === doc.revision) await this.outbox.clearPending(collection, docId);
  }
}
