import type { RxCollection, RxDocument } from 'rxdb';
import { filter, from, type Observable, of, startWith, switchMap } from 'rxjs';

/**
 * The documents with these ids, again whenever one of them is written: what RxDB's
 * `findByIds(ids).$` answers, without its cost on every other write. RxDB re-evaluates a live
 * findByIds query through its query matcher for each changed document, and the matcher builds
 * a hash set of all `ids` for every document it checks: with the conversation list's few hundred
 * last-message ids, storing one history page of 1,000 messages made hundreds of thousands of set
 * insertions (6–9 % of the page's main thread in the Chromium initial-sync profile). Here a write
 * costs one Set lookup per changed document.
 */
export function docsByIds$<T>(collection: RxCollection<T>, ids: readonly string[]): Observable<Map<string, RxDocument<T>>> {
  if (ids.length === 0) return of(new Map<string, RxDocument<T>>());
  const wanted = new Set(ids);
  const list = [...wanted];
  return collection.eventBulks$.pipe(
    filter((bulk) => bulk.events.some((e) => wanted.has(e.documentId))),
    // The first read starts as the subscription does: a write it misses is one announced after it.
    startWith(null),
    switchMap(() => from(collection.findByIds(list).exec())),
  );
}
