import type { Dexie } from 'dexie';
import type { DexieSettings } from 'rxdb';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';

/**
 * Dexie without what only its `liveQuery` uses. Every write otherwise computes the key ranges it
 * touched in every index (the Observability middleware) and posts them to every tab of the
 * origin over a BroadcastChannel, and the Cache middleware tracks them for optimistic query
 * results (Dexie's `cache` option is read only by these two). RxDB queries its storage and tells other tabs itself, so nothing reads either: in the
 * screen-to-screen profile, Dexie's `postMessage` alone was ~3 % of each page's busy time.
 */
export function stripLiveQuerySupport(db: Dexie): void {
  db.unuse({ stack: 'dbcore', name: 'Observability' });
  db.unuse({ stack: 'dbcore', name: 'Cache' });
}

/** RxDB's Dexie storage with stripLiveQuerySupport (settings: e.g. fake-indexeddb in tests). */
export function getInboxStorage(settings: DexieSettings = {}) {
  return getRxStorageDexie({
    ...settings,
    onCreate: async (db, name) => {
      stripLiveQuerySupport(db);
      await settings.onCreate?.(db, name);
    },
  });
}
