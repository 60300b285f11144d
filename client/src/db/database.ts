import { addRxPlugin, createRxDatabase, type RxStorage, removeRxDatabase } from 'rxdb';
import { RxDBLocalDocumentsPlugin } from 'rxdb/plugins/local-documents';
import { RxDBMigrationSchemaPlugin } from 'rxdb/plugins/migration-schema';
import { collectionCreators, type InboxDatabase } from './collections';
import type { DevModeKit } from './dev-mode';
import { deferUpstreamCheckpoints } from './deferred-up-checkpoint';
import { getInboxStorage } from './dexie-storage';
import { deferMetaWrites } from './meta-write-behind';
import { cacheMetaInstanceWrites } from './meta-write-cache';

export interface OpenDatabaseOptions {
  /** One database per signed-in user: derive it from the user id (see databaseNameFor). */
  name: string;
  /** Defaults to Dexie on the page's IndexedDB; tests pass Dexie on fake-indexeddb. */
  storage?: RxStorage<any, any>;
  /** Development and tests only (see dev-mode.ts). */
  devMode?: DevModeKit;
  /** Tabs share the replica through BroadcastChannel; false only for isolated tests. */
  multiInstance?: boolean;
  /** Lets a test open the same database twice in one process, as two tabs. Needs devMode. */
  ignoreDuplicate?: boolean;
  /**
   * Tests only: other collection definitions (schemas and migrations) than `collectionCreators`,
   * to open a replica as an older or a next release of the app would (replica-migration.test.ts).
   */
  collections?: typeof collectionCreators;
}

let basePluginsAdded = false;
let devModeAdded = false;

function addPlugins(devMode: DevModeKit | undefined): void {
  if (!basePluginsAdded) {
    addRxPlugin(RxDBMigrationSchemaPlugin);
    addRxPlugin(RxDBLocalDocumentsPlugin);
    basePluginsAdded = true;
  }
  if (devMode && !devModeAdded) {
    addRxPlugin(devMode.plugin);
    devModeAdded = true;
  }
}

import { rxdbDexieName } from './replica-name';

export { databaseNameFor } from './replica-name';

export async function openInboxDatabase(options: OpenDatabaseOptions): Promise<InboxDatabase> {
  addPlugins(options.devMode);
  const base = options.storage ?? getInboxStorage();
  const storage = deferUpstreamCheckpoints(
    cacheMetaInstanceWrites(deferMetaWrites(options.devMode ? options.devMode.wrapStorage(base) : base)),
  );
  const db = await createRxDatabase<InboxDatabase['collections']>({
    name: options.name,
    storage,
    multiInstance: options.multiInstance ?? true,
    // The history walk's cursor (history-store.ts).
    localDocuments: true,
    ignoreDuplicate: options.ignoreDuplicate ?? false,
  });
  try {
    await db.addCollections(options.collections ?? collectionCreators);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/**
 * Deletes a replica's data with RxDB's own removal (`removeRxDatabase`: every collection it ever
 * had, its metadata, its local documents and its replications' checkpoints). The database must
 * be closed in this tab first (`RxDatabase.remove()` closes and removes in one step; the inbox
 * closes more than the database). RxDB's Dexie storage only empties each storage instance: the
 * IndexedDB databases themselves stay, empty, until deleted by name (auth/device-data.ts does
 * that next). Returns the names of those it emptied, as RxDB knows them (a browser that cannot
 * list its IndexedDB databases could not find the replications' ones: their names hold a hash).
 */
export async function removeInboxDatabase(name: string, storage?: RxStorage<any, any>): Promise<string[]> {
  addPlugins(undefined);
  const base = storage ?? getInboxStorage();
  const emptied = new Set<string>();
  const recording: RxStorage<any, any> = {
    name: base.name,
    rxdbVersion: base.rxdbVersion,
    createStorageInstance(params) {
      emptied.add(rxdbDexieName(params.databaseName, params.schema.version, params.collectionName));
      return base.createStorageInstance(params);
    },
  };
  await removeRxDatabase(name, recording, false);
  return [...emptied];
}

/** Every collection's current schema version (older ones may still be stored until migrated). */
export function collectionVersions(): Record<string, number> {
  return Object.fromEntries(Object.entries(collectionCreators).map(([name, c]) => [name, c.schema.version]));
}
