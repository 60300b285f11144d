import type { RxCollection, RxDocument } from 'rxdb';
import { Observable, of } from 'rxjs';

/**
 * The documents with these ids, again whenever one of them is written: what RxDB's
 * `findByIds(ids).$` answers, without its cost on every other write. RxDB re-evaluates a live
 * findByIds query through its query matcher for each changed document, and the matcher builds
 * a hash set of all `ids` for every document it checks: with the conversation list's few hundred
 * last-message ids, storing one history page of 1,000 messages made hundreds of thousands of set
 * insertions (6–9 % of the page's main thread in the Chromium initial-sync profile). Here a write
 * costs one Set lookup per changed document, and one of the wanted ones no read.
 */
export function docsByIds$<T>(collection: RxCollection<T>, ids: readonly string[]): Observable<Map<string, RxDocument<T>>> {
  if (ids.length === 0) return of(new Map<string, RxDocument<T>>());
  const wanted = new Set(ids);
  const list = [...wanted];
  return new Observable((subscriber) => {
    // What was found, kept current from the write events once the first read has answered:
    // an event carries the document's new state, so a write costs no read (with 650 ids, each
    // history page that held one of them made a read of all 650).
    let current = new Map<string, RxDocument<T>>();
    // A read is never abandoned for a newer one: under a stream of writes (a history walk storing
    // a page while the read waits for it) every read would be, and nothing would show. A write
    // during the read brings one more read after it; what the first one found is shown meanwhile.
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
          current = found;
          subscriber.next(found);
          if (again) read();
        },
        (err) => subscriber.error(err),
      );
    };
    // Subscribed before the first read starts: a write it misses is one announced after it.
    const writes = collection.eventBulks$.subscribe({
      next: (bulk) => {
        const mine = bulk.events.filter((e) => wanted.has(e.documentId));
        if (mine.length === 0) return;
        // The read under way (the first one included) may or may not see this write.
        if (reading) return read();
        const next = new Map(current);
        for (const e of mine) {
          if (e.operation === 'DELETE' || e.documentData._deleted) next.delete(e.documentId);
          else next.set(e.documentId, collection._docCache.getCachedRxDocument(e.documentData));
        }
        current = next;
        subscriber.next(next);
      },
      error: (err) => subscriber.error(err),
      complete: () => subscriber.complete(),
    });
    read();
    return writes;
  });
}

/**
 * What RxDB's `findByIds(ids).exec()` reads: each document from the collection's cache when it
 * holds the id (RxDB keeps it current from the storage's change events), the rest from the
 * storage by id. Without RxDB's query rule of reading again until no write came in meanwhile:
 * during a history walk, which writes a page of 1,000 after another, that took 13 s for the
 * list's 500 last messages (fake-indexeddb, 100k messages) and kept the inbox blank.
 */
async function readByIds<T>(collection: RxCollection<T>, ids: string[]): Promise<Map<string, RxDocument<T>>> {
  const cache = collection._docCache;
  const found = new Map<string, RxDocument<T>>();
  const missing: string[] = [];
  for (const id of ids) {
    const data = cache.getLatestDocumentDataIfExists(id);
    if (!data) missing.push(id);
    else if (!data._deleted) found.set(id, cache.getCachedRxDocument(data));
  }
  if (missing.length > 0) {
    for (const doc of cache.getCachedRxDocuments(await collection.storageInstance.findDocumentsById(missing, false)))
      found.set(doc.primary, doc);
  }
  return found;
}
