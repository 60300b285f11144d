import { type CollectionName, type HistoryCursor, jsonEqual } from '@fetchwork/shared-schema';
import { combineLatest, concatMap, distinctUntilChanged, map, type Observable } from 'rxjs';
import type { InboxDatabase } from './collections';
import { localDocChanges$ } from './local-doc-changes';

/**
 * Where the walk of a collection's older history stands on this device (recent-first sync, see
 * docs/client.md). Written by the leader tab when the bootstrap answers and after every page it
 * stores, so a reload, a crash or going offline resumes from here; read by every tab for the
 * progress indicator. A local document of the database: never replicated, and not a collection
 * (RxDB's open edition caps the collections a process may hold open).
 */
export interface HistoryState {
  /** The next `sync:history` asks for the feed below this sequence; null once the walk is done. */
  before: number | null;
  /** Documents of the feed below `before` (the server's count when it last answered). */
  remaining: number;
  /** `remaining` when the walk began, for the progress bar. */
  total: number;
}

/** How much of the history is still to load; null when nothing is. */
export interface HistoryProgress {
  remaining: number;
  total: number;
}

const localId = (collection: CollectionName) => `history-${collection}`;

export class HistoryStore {
  constructor(private readonly db: InboxDatabase) {}

  /** A bootstrap answered: the walk starts from its cursor (or is complete). */
  async begin(collection: CollectionName, cursor: HistoryCursor | null): Promise<void> {
    const remaining = cursor?.remaining ?? 0;
    await this.db.upsertLocal<HistoryState>(localId(collection), { before: cursor?.before ?? null, remaining, total: remaining });
  }

  /**
   * A page was stored: continue below it. With `from`, only if the walk still stands where that
   * page began (a new bootstrap may have begun another walk meanwhile); false when it did not.
   */
  async advance(collection: CollectionName, cursor: HistoryCursor | null, from?: number): Promise<boolean> {
    const current = await this.state(collection);
    if (!current || (from !== undefined && current.before !== from)) return false;
    await this.db.upsertLocal<HistoryState>(localId(collection), {
      before: cursor?.before ?? null,
      remaining: cursor?.remaining ?? 0,
      total: current.total,
    });
    return true;
  }

  /** Null when the walk never began: a replica synced whole before recent-first existed. */
  async state(collection: CollectionName): Promise<HistoryState | null> {
    const doc = await this.db.getLocal<HistoryState>(localId(collection));
    return doc ? (doc.toJSON().data as HistoryState) : null;
  }

  /** The walk's state, read again on every write of it (any tab's; see localDocChanges$). */
  state$(collection: CollectionName): Observable<HistoryState | null> {
    return localDocChanges$(this.db, localId(collection)).pipe(
      concatMap((): Promise<HistoryState | null> => this.state(collection)),
      distinctUntilChanged<HistoryState | null>(jsonEqual),
    );
  }

  /** Both collections' walks together; null once neither has anything left. */
  progress$(): Observable<HistoryProgress | null> {
    return combineLatest([this.state$('conversations'), this.state$('messages')]).pipe(
      map((states) => {
        const open = states.filter((s): s is HistoryState => s !== null && s.before !== null);
        if (open.length === 0) return null;
        return {
          remaining: open.reduce((n, s) => n + s.remaining, 0),
          total: open.reduce((n, s) => n + Math.max(s.total, s.remaining), 0),
        };
      }),
    );
  }
}
