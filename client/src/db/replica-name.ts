/**
 * Names of a user's local data, without importing RxDB or Dexie: the app shell (sign-in, sign-out,
 * the start-up sweep) needs them before the data layer is loaded.
 */

/** Every replica's name starts with this (and nothing else of the app's does). */
export const REPLICA_PREFIX = 'fetchwork-inbox-';

/** IndexedDB names allow any string; keep it readable and scoped to the user. */
export function databaseNameFor(userId: string): string {
  return `${REPLICA_PREFIX}${userId.toLowerCase().replace(/[^a-z0-9_-]/g, '_')}`;
}

/** The file queue's database next to a replica (files/file-queue.ts: fileQueueNameFor). */
export const FILES_SUFFIX = '-files';
/** The service worker's copy of the unsent messages next to a replica (sw/outbox-mirror.ts). */
export const OUTBOX_MIRROR_SUFFIX = '-outbox';
const SIDE_DATABASES = [FILES_SUFFIX, OUTBOX_MIRROR_SUFFIX];

/**
 * RxDB's Dexie storage keeps each storage instance in an IndexedDB database of its own:
 * `rxdb-dexie-<database>--<schema version>--<collection>`, with `_rxdb_internal` (the database's
 * own metadata), `plugin-local-documents-<collection>` (local documents) and
 * `rx-replication-meta-<hash>` (a replication's checkpoints) among the collections.
 */
const RXDB_DEXIE = /^rxdb-dexie-(.+)--\d+--(_rxdb_internal|plugin-local-documents-[a-z]*|rx-replication-meta-[0-9a-f]+|[a-z]+)$/;

/** The IndexedDB database RxDB's Dexie storage keeps one storage instance in. */
export function rxdbDexieName(databaseName: string, schemaVersion: number, collectionName: string): string {
  return `rxdb-dexie-${databaseName}--${schemaVersion}--${collectionName}`;
}

/** The replica an IndexedDB database belongs to, or null when it is none of a replica's. */
export function replicaOfIndexedDbName(idbName: string): string | null {
  const rx = RXDB_DEXIE.exec(idbName);
  const side = SIDE_DATABASES.find((suffix) => idbName.endsWith(suffix));
  const name = rx ? (rx[1] as string) : side ? idbName.slice(0, -side.length) : null;
  return name?.startsWith(REPLICA_PREFIX) ? name : null;
}
