import type { MessageDoc } from '@fetchwork/shared-schema';
import type { RxChangeEvent } from 'rxdb';
import { BehaviorSubject, concatMap, filter, firstValueFrom, map, type Observable, type Subscription } from 'rxjs';
import type { InboxDatabase } from './collections';
import { localDocChanges$ } from './local-doc-changes';

const LOCAL_ID = 'unsent-since';
/**
 * How far below the oldest unsent message (or now) the mark is set: room for small clock
 * adjustments and for tabs that send while another moves the mark.
 */
const MARGIN_MS = 60 * 60 * 1000;

interface UnsentSince {
  since: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The signed-in user's messages the server has never accepted: `seq` 0 (the server assigns a
 * sequence when it stores a message, and the echo brings it back). Derived from the replica
 * itself, so sending a message costs no bookkeeping write; it is the same in every tab and
 * survives reloads because the message does.
 *
 * Kept as a set from the collection's change stream (this tab's writes, replication and other
 * tabs alike): constant work per change, no query re-run. The set starts from one query at
 * open; the messages collection has no index on `seq` or `sender` (the schema is shared), so
 * that query is bounded by the `createdAt` index from a low-water mark kept in a local document
 * (`unsent-since`; not a collection, see RxDB's collection cap): every unsent message was
 * created at or after it. A send writes the mark only when its time is below it (the clock went
 * back); the mark moves up, to an hour below the oldest unsent message or below now, once it
 * lags by more than two hours. A database without the mark (a new device, or one from before
 * this) is scanned once to set it.
 */
export class UnsentMessages {
  /** Ids of the user's own messages with `seq` 0. */
  readonly ids$: Observable<string[]>;
  private readonly mark = new BehaviorSubject<string | null>(null);
  /** Unsent message id → createdAt; null until the first query answered. */
  private readonly unsent = new BehaviorSubject<Map<string, string> | null>(null);
  private readonly early: RxChangeEvent<MessageDoc>[] = [];
  private initialising: Promise<void> | null = null;
  private started = false;
  private readonly subs: Subscription[] = [];

  constructor(
    private readonly db: InboxDatabase,
    private readonly userId: string,
  ) {
    // Before the query, so that nothing written meanwhile is missed: replayed in order after it.
    this.subs.push(
      db.messages.$.subscribe((ev) => {
        const set = this.unsent.value;
        if (set === null) this.early.push(ev as RxChangeEvent<MessageDoc>);
        else if (this.apply(set, ev as RxChangeEvent<MessageDoc>)) this.changed(set);
      }),
    );
    this.subs.push(
      localDocChanges$(db, LOCAL_ID)
        .pipe(concatMap(() => db.getLocal<UnsentSince>(LOCAL_ID)))
        .subscribe((doc) => {
          const since = doc ? (doc.toJSON().data as UnsentSince).since : null;
          if (since === null) {
            this.initialising ??= this.initialise().catch(() => undefined);
            return;
          }
          this.mark.next(since);
          if (!this.started) {
            this.started = true;
            this.load(since).catch(() => undefined);
          }
        }),
    );
    this.ids$ = this.unsent.pipe(
      filter((set): set is Map<string, string> => set !== null),
      map((set) => [...set.keys()]),
    );
  }

  /** Before a local message with this creation time is written: the mark must be at or below it. */
  async cover(createdAt: string): Promise<void> {
    const since = this.mark.value ?? (await firstValueFrom(this.mark.pipe(filter((s): s is string => s !== null))));
    if (createdAt >= since) return;
    await this.write(iso(Date.parse(createdAt) - MARGIN_MS));
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
    this.mark.complete();
    this.unsent.complete();
  }

  private async load(since: string): Promise<void> {
    const docs = await this.db.messages.find({ selector: { createdAt: { $gte: since }, sender: this.userId, seq: 0 } }).exec();
    const set = new Map(docs.map((d) => [d.id, d.createdAt] as const));
    for (const ev of this.early.splice(0)) this.apply(set, ev);
    this.changed(set);
  }

  /** Whether the set changed. */
  private apply(set: Map<string, string>, ev: RxChangeEvent<MessageDoc>): boolean {
    const d = ev.documentData;
    const unsent = ev.operation !== 'DELETE' && !d._deleted && d.sender === this.userId && d.seq === 0;
    if (unsent) {
      if (set.get(ev.documentId) === d.createdAt) return false;
      set.set(ev.documentId, d.createdAt);
      return true;
    }
    return set.delete(ev.documentId);
  }

  private changed(set: Map<string, string>): void {
    this.unsent.next(set);
    const since = this.mark.value;
    if (since === null) return;
    let oldest = Date.now();
    for (const at of set.values()) oldest = Math.min(oldest, Date.parse(at));
    const target = oldest - MARGIN_MS;
    if (target - Date.parse(since) > MARGIN_MS) this.advance(since, iso(target)).catch(() => undefined);
  }

  private async initialise(): Promise<void> {
    const docs = await this.db.messages.find({ selector: { sender: this.userId, seq: 0 } }).exec();
    const oldest = docs.reduce((min, d) => Math.min(min, Date.parse(d.createdAt)), Date.now());
    await this.write(iso(oldest - MARGIN_MS));
  }

  /** Moves the mark up only if it is still where this tab saw it (another tab may have lowered it). */
  private async advance(from: string, to: string): Promise<void> {
    const doc = await this.db.getLocal<UnsentSince>(LOCAL_ID);
    if (!doc || (doc.toJSON().data as UnsentSince).since !== from) return;
    await this.write(to);
  }

  private async write(since: string): Promise<void> {
    await this.db.upsertLocal<UnsentSince>(LOCAL_ID, { since });
    this.mark.next(since);
  }
}
