/**
 * The floor for storing documents locally: Dexie's bulkPut straight into IndexedDB, in chunks of
 * 1,000 (the largest pull batch the protocol allows), into a table with the same kind of
 * indexes the RxDB schema declares. Used in Node (fake-indexeddb) and in the browser page.
 */
import { messageRxSchema } from '@fetchwork/shared-schema';
import Dexie from 'dexie';
import { fillWithDefaultSettings } from 'rxdb';
import { fromStorageToDexie, getBooleanIndexes, getDexieStoreSchema } from 'rxdb/plugins/storage-dexie';
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

/**
 * Diagnostic floor: the same bulkPut into the table RxDB's Dexie storage builds for the messages
 * collection (its index set: the schema's indexes behind `_deleted`, plus `[_deleted+id]`,
 * `[_meta.lwt+id]` and `_meta.lwt`) with the documents as that storage keeps them (`_meta`,
 * `_rev`, `_attachments`, indexed booleans as strings). What the replica's layout costs before
 * any replication code runs.
 */
export async function rawRxLayoutBulkPut(docs: readonly object[], options: RawDexieOptions): Promise<{ ms: number; count: number }> {
  const schema = fillWithDefaultSettings(messageRxSchema as never);
  const booleanIndexes = getBooleanIndexes(schema);
  const db = new Dexie(options.name, options.indexedDB ? { indexedDB: options.indexedDB, IDBKeyRange: options.IDBKeyRange } : undefined);
  stripLiveQuerySupport(db);
  db.version(1).stores({ messages: getDexieStoreSchema(schema) });
  await db.open();
  const table = db.table('messages');
  const chunk = options.chunk ?? 1000;
  const t0 = performance.now();
  for (let i = 0; i < docs.length; i += chunk) {
    const rows = docs
      .slice(i, i + chunk)
      .map((d) =>
        fromStorageToDexie(booleanIndexes, { ...d, _deleted: false, _attachments: {}, _rev: '1-bench', _meta: { lwt: Date.now() } }),
      );
    await table.bulkPut(rows);
  }
  const ms = performance.now() - t0;
  const count = await table.count();
  await db.delete();
  return { ms, count };
}
