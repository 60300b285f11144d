import type { CollectionName, DocsByCollection } from '@fetchwork/shared-schema';
import { type CommitResult, type FeedChange, StaleWriteError, type WriteOp } from '../port';

/**
 * The decisions of one commit, made from what the transaction read: which sequences the ops get,
 * whether each op's compare-and-set holds, what each document's audience becomes and what every
 * affected feed looked like before. The adapter only does the I/O around this.
 */

export interface StoredState {
  seq: number;
  /** User ids whose feed already holds the document. */
  audience: readonly string[];
}

export interface PlannedWrite {
  collection: CollectionName;
  doc: DocsByCollection[CollectionName];
  /** Insert when the document did not exist before this op (in this commit or earlier). */
  insert: boolean;
  audience: string[];
}

export interface CommitPlan {
  writes: PlannedWrite[];
  result: CommitResult;
}

export const docKey = (collection: CollectionName, id: string): string => `${collection}\u0000${id}`;
export const feedKey = (userId: string, collection: CollectionName): string => `${userId}\u0000${collection}`;

/**
 * The sequences of a commit of `count` documents, given the counter's value after the
 * transaction's `$inc` by `count`. One increment per commit (not per document) keeps the hot
 * counter document to one write per transaction.
 */
export function sequenceRange(counterAfter: number, count: number): number[] {
  if (!Number.isSafeInteger(counterAfter) || !Number.isSafeInteger(count) || count < 1 || counterAfter < count) {
    throw new RangeError(`sequence counter at ${counterAfter} cannot have just advanced by ${count}`);
  }
  return Array.from({ length: count }, (_, i) => counterAfter - count + 1 + i);
}

const union = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])];

/**
 * The feeds whose previous position the commit must report: every user of every op's audience,
 * including users who already had the document (the document moves in their feed too).
 */
export function affectedFeeds(
  ops: readonly WriteOp[],
  stored: ReadonlyMap<string, StoredState>,
): { userId: string; collection: CollectionName }[] {
  const seen = new Map<string, { userId: string; collection: CollectionName }>();
  for (const op of ops) {
    const before = stored.get(docKey(op.collection, op.doc.id))?.audience ?? [];
    for (const userId of union(before, op.audience)) {
      const key = feedKey(userId, op.collection);
      if (!seen.has(key)) seen.set(key, { userId, collection: op.collection });
    }
  }
  return [...seen.values()];
}

/**
 * Plans the commit or throws StaleWriteError. `stored` holds the documents that existed when
 * the transaction read them (legacy records without a seq count as seq 0); `heads` each
 * affected feed's position then (absent: 0). Ops apply in order, so a document written twice
 * in one commit must name the first write's seq the second time, as in the SQLite adapter.
 */
export function planCommit(
  ops: readonly WriteOp[],
  stored: ReadonlyMap<string, StoredState>,
  counterAfter: number,
  heads: ReadonlyMap<string, number>,
): CommitPlan {
  const seqs = sequenceRange(counterAfter, ops.length);
  const current = new Map(stored);
  const writes: PlannedWrite[] = [];
  const docs: CommitResult['docs'] = [];
  const feeds = new Map<string, FeedChange>();
  ops.forEach((op, i) => {
    const key = docKey(op.collection, op.doc.id);
    const before = current.get(key);
    if ((before ? before.seq : null) !== op.expectedSeq) throw new StaleWriteError(op.collection, op.doc.id);
    const seq = seqs[i]!;
    const doc = { ...op.doc, seq } as DocsByCollection[CollectionName];
    // Everyone who had the document keeps it: a feed never loses an entry, so its head never goes back.
    const audience = union(before?.audience ?? [], op.audience);
    current.set(key, { seq, audience });
    writes.push({ collection: op.collection, doc, insert: before === undefined, audience });
    docs.push({ collection: op.collection, doc });
    for (const userId of audience) {
      const fk = feedKey(userId, op.collection);
      let feed = feeds.get(fk);
      if (!feed) {
        feed = { userId, collection: op.collection, prevSeq: heads.get(fk) ?? 0, docs: [] };
        feeds.set(fk, feed);
      }
      (feed.docs as unknown[]).push(doc);
    }
  });
  return { writes, result: { docs, feeds: [...feeds.values()] } };
}
