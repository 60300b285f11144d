import type { RxChangeEvent } from 'rxdb';
import { filter, map, type Observable, startWith } from 'rxjs';

/**
 * Emits once at once and again whenever the database's local document `id` is written (by any
 * tab): the cue to read it again. Not RxDB's `getLocal$`, which runs two asynchronous steps (a
 * `mergeMap(async …)` each) for every change event of every collection of the database: a history
 * page of 1,000 messages made a thousand concurrent inner subscriptions per watcher, removed one by
 * one from an array (rxjs `arrRemove`, 5 % of the page's main thread in the Chromium profile).
 * Here a change event costs one comparison.
 */
export function localDocChanges$(db: { $: Observable<RxChangeEvent<unknown>> }, id: string): Observable<void> {
  return db.$.pipe(
    filter((ev) => ev.isLocal && ev.documentId === id),
    map(() => undefined),
    startWith(undefined),
  );
}
