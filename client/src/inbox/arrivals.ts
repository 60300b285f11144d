import type { MessageDoc, Wire } from '@fetchwork/shared-schema';
import { BehaviorSubject, distinctUntilChanged, map, type Observable } from 'rxjs';

/** How long an arrival stays after the replica stored it: the window's query re-runs meanwhile. */
const KEPT_AFTER_STORED_MS = 1_000;
/** An arrival the replica never stored (its batch was dropped for a pull, which stores it) goes after this. */
const KEPT_UNSTORED_MS = 15_000;
/** Arrivals kept at most; the oldest go first (a burst far beyond any window). */
const MAX_ARRIVALS = 2_000;

interface Arrival {
  doc: MessageDoc;
  at: number;
  storedAt: number | null;
}

/**
 * Messages shown before the replica has stored them: those the leader tab's live stream brought
 * (not after RxDB's downstream has stored them: its reads and writes, and the stream buffer's
 * wait while a push is out, were most of the receiving page's share of screen-to-screen
 * latency), and the user's own new ones while the command writes them (the IndexedDB insert
 * took 10–25 ms in Chromium before the sender saw the bubble). docs/client.md, "Arrivals".
 *
 * Only what a window would show once stored is shown (`mergeArrivals`): a document the window
 * holds is the replica's (which decides merges with local changes), never the arrival. An
 * arrival's view is marked `arriving`: commands that write the message (read receipts) wait
 * until the replica has it. Nothing here is written anywhere; the replica stays the truth.
 */
export class Arrivals {
  private readonly byId = new Map<string, Arrival>();
  private readonly version = new BehaviorSubject(0);
  private sweepTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Documents the live stream carried, or a new message being written, in order (a later state of one id replaces an earlier). */
  add(docs: readonly (Wire<MessageDoc> | MessageDoc)[]): void {
    if (docs.length === 0) return;
    const at = this.now();
    for (const { _deleted, ...doc } of docs as Wire<MessageDoc>[]) {
      if (_deleted) continue;
      this.byId.delete(doc.id);
      this.byId.set(doc.id, { doc, at, storedAt: null });
    }
    for (const id of this.byId.keys()) {
      if (this.byId.size <= MAX_ARRIVALS) break;
      this.byId.delete(id);
    }
    this.changed();
  }

  /** The replica wrote these messages (any tab, any source): their arrivals go shortly after. */
  stored(ids: Iterable<string>): void {
    const at = this.now();
    let any = false;
    for (const id of ids) {
      const arrival = this.byId.get(id);
      if (arrival && arrival.storedAt === null) {
        arrival.storedAt = at;
        any = true;
      }
    }
    if (any) this.scheduleSweep();
  }

  /** A write that failed, or the message was removed from the replica: it is not coming. */
  withdraw(id: string): void {
    if (this.byId.delete(id)) this.version.next(this.version.value + 1);
  }

  /** Forgets everything (the replication stopped: nothing more will be stored from its stream). */
  clear(): void {
    if (this.sweepTimer !== null) clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
    if (this.byId.size === 0) return;
    this.byId.clear();
    this.version.next(this.version.value + 1);
  }

  /** A conversation's arrivals, newest state per id; emits only when they change. */
  of$(conversationId: string): Observable<readonly MessageDoc[]> {
    return this.version.pipe(
      map(() => {
        const docs: MessageDoc[] = [];
        for (const a of this.byId.values()) if (a.doc.conversation === conversationId) docs.push(a.doc);
        return docs;
      }),
      distinctUntilChanged(sameItems),
    );
  }

  get size(): number {
    return this.byId.size;
  }

  private changed(): void {
    this.version.next(this.version.value + 1);
    this.scheduleSweep();
  }

  private scheduleSweep(): void {
    if (this.sweepTimer !== null || this.byId.size === 0) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = null;
      this.sweep();
    }, KEPT_AFTER_STORED_MS);
  }

  private sweep(): void {
    const now = this.now();
    let removed = false;
    for (const [id, a] of this.byId) {
      if ((a.storedAt !== null && now - a.storedAt >= KEPT_AFTER_STORED_MS) || now - a.at >= KEPT_UNSTORED_MS) {
        this.byId.delete(id);
        removed = true;
      }
    }
    if (removed) this.version.next(this.version.value + 1);
    this.scheduleSweep();
  }
}

/** Messages sort as a conversation's window sorts them: createdAt, then id, newest first. */
const newerFirst = (a: { createdAt: string; id: string }, b: { createdAt: string; id: string }): number =>
  a.createdAt === b.createdAt ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.createdAt < b.createdAt ? 1 : -1;

/**
 * A window as it will read once the arrivals are stored: `stored` is the replica's answer (the
 * newest `limit`, newest first); an arrival it does not hold goes where the query would put it,
 * and the window is cut to `limit` again. An arrival the window holds is ignored (the replica's
 * copy wins), and so is one that sorts below a full window (an older message edited or deleted
 * elsewhere, which the window would not show either).
 */
export function mergeArrivals<S extends { id: string; createdAt: string }, A extends { id: string; createdAt: string }>(
  stored: readonly S[],
  arrivals: readonly A[],
  limit: number,
): (S | A)[] {
  if (arrivals.length === 0) return stored as S[];
  const held = new Set(stored.map((d) => d.id));
  const extra = arrivals.filter((a) => !held.has(a.id));
  if (extra.length === 0) return stored as S[];
  const merged: (S | A)[] = [...stored, ...extra].sort(newerFirst);
  return merged.length > limit ? merged.slice(0, limit) : merged;
}

/** The same items in the same order (by identity): an emission that would change nothing on screen. */
export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
