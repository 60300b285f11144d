import type { RxCollection, RxDocument } from 'rxdb';
import { filter, Observable, of } from 'rxjs';

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
  // A read is never abandoned for a newer one: under a stream of writes (a history walk storing
  // a page while the previous read waits for it) every read would be, and nothing would show.
  // A write during a read brings one more read after it, and what the first read found is shown
  // meanwhile.
  return new Observable((subscriber) => {
    let reading = false;
    let again = false;
    const read = () => {
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      again = false;
      readByIds(collection, list).then(
        (found) => {
          reading = false;
          if (subscriber.closed) return;
          subscriber.next(found);
          if (again) read();
        },
        (err) => subscriber.error(err),
      );
    };
    // Subscribed before the first read starts: a write it misses is one announced after it.
    const writes = collection.eventBulks$.pipe(filter((bulk) => bulk.events.some((e) => wanted.has(e.documentId)))).subscribe({
      next: read,
      error: (err) => subscriber.error(err),
      complete: () => subscriber.complete(),
    });
    read();
    return writes;
  });
}

/**
 * What RxDB's `findByIds(ids).exec()` reads (the storage by id, documents from the collection's
 * cache), without its query's rule of reading again until no write came in meanwhile: during a
 * history walk, which writes a page of 1,000 after another, that took 13 s for the list's 500
 * last messages (fake-indexeddb, 100k messages) and kept the inbox blank.
 */
async function readByIds<T>(collection: RxCollection<T>, ids: string[]): Promise<Map<string, RxDocument<T>>> {
  const found = await collection.storageInstance.findDocumentsById(ids, false);
  const docs = collection._docCache.getCachedRxDocuments(found);
  return new Map(docs.map((d) => [d.primary, d]));
}
