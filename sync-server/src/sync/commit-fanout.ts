import type { FeedChange } from '../store/port';
import type { ChangeBus } from './change-bus';

const keyOf = (f: FeedChange) => `${f.userId}\u0000${f.collection}`;

/**
 * Publishes the commits that finish together as ONE change event. The SQLite store answers a
 * whole commit group in one turn, so every push of the group reaches `add` in the same microtask
 * drain; the event goes out on the next tick, after all of them (and after their acks were
 * written). Within the event a user's consecutive changes to one collection are merged into one
 * feed change, so each socket gets one `sync:stream` per collection per group instead of one per
 * push. Publishing later than the commit only delays the stream: the dispatcher still sends
 * documents only to a socket positioned exactly at the merged change's `prevSeq`.
 */
export class CommitFanout {
  private pending: FeedChange[] | null = null;
  /** user + collection → the pending entry that a contiguous next change extends. */
  private readonly tails = new Map<string, FeedChange>();

  constructor(private readonly bus: ChangeBus) {}

  add(feeds: readonly FeedChange[]): void {
    if (feeds.length === 0) return;
    if (this.pending === null) {
      this.pending = [];
      process.nextTick(() => this.flush());
    }
    for (const feed of feeds) {
      const key = keyOf(feed);
      const tail = this.tails.get(key);
      const last = tail?.docs[tail.docs.length - 1];
      if (tail && last && last.seq === feed.prevSeq) {
        for (const doc of feed.docs) (tail.docs as unknown[]).push(doc);
        continue;
      }
      // A gap (a commit of another instance, or a change published out of order) keeps its own
      // entry; the dispatcher then resyncs whoever it does not continue.
      const own: FeedChange = { userId: feed.userId, collection: feed.collection, prevSeq: feed.prevSeq, docs: [...feed.docs] };
      this.pending.push(own);
      this.tails.set(key, own);
    }
  }

  /** Publishes what is pending now (also used on shutdown, so nothing committed stays unannounced). */
  flush(): void {
    const feeds = this.pending;
    this.pending = null;
    this.tails.clear();
    if (feeds && feeds.length > 0) this.bus.publish({ feeds });
  }
}
