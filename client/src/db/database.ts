import { addRxPlugin, createRxDatabase, type RxStorage } from 'rxdb';
import { RxDBLocalDocumentsPlugin } from 'rxdb/plugins/local-documents';
import { RxDBMigrationSchemaPlugin } from 'rxdb/plugins/migration-schema';
import { collectionCreators, type InboxDatabase } from './collections';
import type { DevModeKit } from './dev-mode';
import { getInboxStorage } from './dexie-storage';

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

/** IndexedDB names allow any string; keep it readable and scoped to the user. */
export function databaseNameFor(userId: string): string {
  return `fetchwork-inbox-${userId.toLowerCase().replace(/[^a-z0-9_-]/g, '_')}`;
}

export async function openInboxDatabase(options: OpenDatabaseOptions): Promise<InboxDatabase> {
  addPlugins(options.devMode);
  const base = options.storage ?? getInboxStorage();
  const storage = options.devMode ? options.devMode.wrapStorage(base) : base;
  const db = await createRxDatabase<InboxDatabase['collections']>({
    name: options.name,
    storage,
    multiInstance: options.multiInstance ?? true,
    // The history walk's cursor (history-store.ts).
    localDocuments: true,
    ignoreDuplicate: options.ignoreDuplicate ?? false,
  });
  try {
    await db.addCollections(collectionCreators);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
