/**
 * The floor for storing documents locally: Dexie's bulkPut straight into IndexedDB, in chunks of
 * 1,000 (the largest pull batch the protocol allows), into a table with the same kind of
 * indexes the RxDB schema declares. Used in Node (fake-indexeddb) and in the browser page.
 */
import Dexie from 'dexie';
import { stripLiveQuerySupport } from '../../client/src/db/dexie-storage';

export interface RawDexieOptions {
  name: string;
  indexedDB?: IDBFactory;
  IDBKeyRange?: typeof IDBKeyRange;
  chunk?: number;
}

export async function rawBulkPut(docs: readonly object[], options: RawDexieOptions): Promise<{ ms: number; count: number }> {
  const db = new Dexie(options.name, options.indexedDB ? { indexedDB: options.indexedDB, IDBKeyRange: options.IDBKeyRange } : undefined);
  // The same Dexie as the client's storage (db/dexie-storage.ts): the floor, not a slower one.
  stripLiveQuerySupport(db);
  db.version(1).stores({ messages: 'id, [conversation+createdAt], createdAt, recipient' });
  await db.open();
  const table = db.table('messages');
  const chunk = options.chunk ?? 1000;
  const t0 = performance.now();
  for (let i = 0; i < docs.length; i += chunk) await table.bulkPut(docs.slice(i, i + chunk));
  const ms = performance.now() - t0;
  const count = await table.count();
  await db.delete();
  return { ms, count };
}
