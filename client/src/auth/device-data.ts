import type { RxStorage } from 'rxdb';
import {
  databaseNameFor,
  FILES_SUFFIX,
  OUTBOX_MIRROR_SUFFIX,
  REPLICA_PREFIX,
  replicaOfIndexedDbName,
  rxdbDexieName,
} from '../db/replica-name';

/**
 * A user's data on this device, and its deletion: the replica (RxDB over Dexie: one IndexedDB
 * database per collection, plus RxDB's metadata and local documents), the file queue's database
 * (queued uploads, cached previews, the file limits), and the list of replicas the device has.
 * The search index is only ever in memory, and the session is in the tab's or the device's
 * storage (session.ts), so neither is here.
 *
 * Tabs and deletion: IndexedDB cannot delete a database while another tab has it open (the
 * request is "blocked" until every connection closes). Every tab that opens a replica therefore
 * holds a shared Web Lock for it until the replica is closed again (`holdReplica`); deleting takes
 * the lock exclusively, so it starts once every tab has closed its replica, and a tab that signs
 * in meanwhile waits for the deletion to finish before it opens a new one. A tab that does not let
 * go in time (frozen, hung) does not hold the sign-out up for ever: after `waitMs` the deletion
 * goes ahead; Dexie closes its connection on the `versionchange` the deletion sends it, and what
 * still cannot be deleted is left to the next start (`sweepReplicas`).
 *
 * RxDB is imported only when something is deleted: the sign-in screen does not load the data layer.
 */

export interface DeviceDataDeps {
  /** null: no IndexedDB, nothing is stored. */
  indexedDB: IDBFactory | null;
  /** The RxDB storage the replicas are opened with; default getInboxStorage() (the page's IndexedDB). */
  storage?: RxStorage<any, any>;
  /** null (no Web Locks): a deletion cannot wait for other tabs, and the start-up sweep deletes nothing. */
  locks: LockManager | null;
  /** Where the list of replicas is kept; null for none. */
  registry: Storage | null;
  /** Cache Storage (user content the service worker might hold); null for none. */
  caches: CacheStorage | null;
}

export function browserDeps(): DeviceDataDeps {
  const g = globalThis as typeof globalThis & { caches?: CacheStorage };
  let registry: Storage | null = null;
  try {
    registry = typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    registry = null;
  }
  return {
    indexedDB: typeof indexedDB === 'undefined' ? null : indexedDB,
    locks: typeof navigator === 'undefined' ? null : (navigator.locks ?? null),
    registry,
    caches: g.caches ?? null,
  };
}

/** How long a sign-out waits for the other tabs to close the replica before deleting regardless. */
const WAIT_FOR_TABS_MS = 5_000;
/** How long one IndexedDB deletion may stay blocked before it is left to the next start. */
const DELETE_TIMEOUT_MS = 10_000;

export function replicaLockName(databaseName: string): string {
  return `fetchwork-replica|${databaseName}`;
}

/**
 * Marks the replica as open in this tab until the returned release is called (after it is
 * closed). Resolves once no deletion of it is under way.
 */
export async function holdReplica(databaseName: string, deps: DeviceDataDeps = browserDeps()): Promise<() => void> {
  const locks = deps.locks;
  if (!locks) return () => undefined;
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  await new Promise<void>((granted) => {
    locks
      .request(replicaLockName(databaseName), { mode: 'shared' }, () => {
        granted();
        return released;
      })
      // Locks refused (an opaque origin): open without, as where there are none.
      .catch(() => granted());
  });
  return release;
}

// --- the list of replicas --------------------------------------------------------------------

/** Which replicas this device holds, for browsers that cannot list IndexedDB databases. */
export const REGISTRY_KEY = 'fetchwork.replicas';

function registered(deps: DeviceDataDeps): string[] {
  try {
    const parsed: unknown = JSON.parse(deps.registry?.getItem(REGISTRY_KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return [];
  }
}

function writeRegistry(deps: DeviceDataDeps, names: string[]): void {
  try {
    if (names.length === 0) deps.registry?.removeItem(REGISTRY_KEY);
    else deps.registry?.setItem(REGISTRY_KEY, JSON.stringify(names));
  } catch {
    // storage full or unavailable: indexedDB.databases() still finds the replica
  }
}

/** Notes a replica before it is opened, so that it can be found for deletion later. */
export function registerReplica(databaseName: string, deps: DeviceDataDeps = browserDeps()): void {
  const names = registered(deps);
  if (!names.includes(databaseName)) writeRegistry(deps, [...names, databaseName]);
}

function unregisterReplica(databaseName: string, deps: DeviceDataDeps): void {
  const names = registered(deps);
  if (names.includes(databaseName))
    writeRegistry(
      deps,
      names.filter((n) => n !== databaseName),
    );
}

// --- IndexedDB --------------------------------------------------------------------------------

/** Every IndexedDB database of the origin, or null where the browser cannot list them. */
async function listDatabases(factory: IDBFactory): Promise<string[] | null> {
  if (typeof factory.databases !== 'function') return null;
  try {
    return (await factory.databases()).flatMap((d) => (d.name ? [d.name] : []));
  } catch {
    return null;
  }
}

function belongsTo(idbName: string, databaseName: string): boolean {
  if (idbName === `${databaseName}${FILES_SUFFIX}` || idbName === `${databaseName}${OUTBOX_MIRROR_SUFFIX}`) return true;
  return idbName.startsWith(`rxdb-dexie-${databaseName}--`) && /^\d+--/.test(idbName.slice(`rxdb-dexie-${databaseName}--`.length));
}

/** Where the databases cannot be listed: the names RxDB's Dexie storage, the file queue and the outbox mirror use. */
function knownNames(databaseName: string, versions: Record<string, number>): string[] {
  const rx = (version: number, collection: string) => rxdbDexieName(databaseName, version, collection);
  const names = [
    rx(0, '_rxdb_internal'),
    rx(0, 'plugin-local-documents-'),
    `${databaseName}${FILES_SUFFIX}`,
    `${databaseName}${OUTBOX_MIRROR_SUFFIX}`,
  ];
  for (const [collection, version] of Object.entries(versions)) {
    names.push(rx(0, `plugin-local-documents-${collection}`));
    for (let v = 0; v <= version; v++) names.push(rx(v, collection));
  }
  return names;
}

/** Deletes one IndexedDB database; false when it stayed blocked for `timeoutMs` or failed. */
function deleteIndexedDb(factory: IDBFactory, name: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      resolve(ok);
    };
    try {
      const request = factory.deleteDatabase(name);
      request.onsuccess = () => done(true);
      request.onerror = () => done(false);
      // onblocked: the other connections were sent `versionchange` (Dexie closes on it); the
      // request completes once they are closed, or the timeout gives up waiting for it.
    } catch {
      done(false);
    }
  });
}

// --- deletion ---------------------------------------------------------------------------------

export interface ForgetResult {
  /** True when nothing of the replica is left in IndexedDB. */
  complete: boolean;
  /** The IndexedDB databases still there (blocked by a tab that would not close). */
  left: string[];
}

export interface ForgetOptions {
  waitMs?: number;
  deleteTimeoutMs?: number;
}

const forgetting = new Map<string, Promise<ForgetResult>>();

/**
 * Deletes a replica and its file queue from this device, once every tab has closed them (or
 * after `waitMs`). The caller has closed it in this tab. Concurrent calls share one deletion.
 */
export function forgetReplica(
  databaseName: string,
  deps: DeviceDataDeps = browserDeps(),
  options: ForgetOptions = {},
): Promise<ForgetResult> {
  let running = forgetting.get(databaseName);
  if (!running) {
    running = exclusively(databaseName, deps, options.waitMs ?? WAIT_FOR_TABS_MS, () =>
      removeReplica(databaseName, deps, options.deleteTimeoutMs ?? DELETE_TIMEOUT_MS),
    ).finally(() => forgetting.delete(databaseName));
    forgetting.set(databaseName, running);
  }
  return running;
}

/** Runs `task` holding the replica's lock exclusively, or without it once `waitMs` have passed. */
async function exclusively<T>(databaseName: string, deps: DeviceDataDeps, waitMs: number, task: () => Promise<T>): Promise<T> {
  const locks = deps.locks;
  if (!locks) return task();
  const gaveUp = new AbortController();
  const timer = setTimeout(() => gaveUp.abort(), waitMs);
  try {
    return await locks.request(replicaLockName(databaseName), { mode: 'exclusive', signal: gaveUp.signal }, () => {
      clearTimeout(timer);
      return task();
    });
  } catch (err) {
    if (!gaveUp.signal.aborted) throw err;
    return task();
  } finally {
    clearTimeout(timer);
  }
}

async function removeReplica(databaseName: string, deps: DeviceDataDeps, deleteTimeoutMs: number): Promise<ForgetResult> {
  const factory = deps.indexedDB;
  if (!factory) {
    unregisterReplica(databaseName, deps);
    return { complete: true, left: [] };
  }
  const { collectionVersions, removeInboxDatabase } = await import('../db/database');
  let emptied: string[] = [];
  try {
    // RxDB's removal first: it empties every storage instance it knows of (older schema
    // versions and replication checkpoints included), even where one cannot be deleted below.
    emptied = await removeInboxDatabase(databaseName, deps.storage);
  } catch {
    // a replica too broken to open: its IndexedDB databases are deleted by name all the same
  }
  const listed = await listDatabases(factory);
  const names = new Set([
    ...emptied.filter((n) => belongsTo(n, databaseName)),
    ...(listed ? listed.filter((n) => belongsTo(n, databaseName)) : knownNames(databaseName, collectionVersions())),
  ]);
  const results = await Promise.all(
    [...names].map(async (n) => ({ name: n, deleted: await deleteIndexedDb(factory, n, deleteTimeoutMs) })),
  );
  const after = await listDatabases(factory);
  const left = after ? after.filter((n) => belongsTo(n, databaseName)) : results.filter((r) => !r.deleted).map((r) => r.name);
  if (left.length === 0) unregisterReplica(databaseName, deps);
  return { complete: left.length === 0, left };
}

/**
 * Deletes what the service worker may hold of a user's content in Cache Storage: every cache
 * but the app shell's precache (workbox's `workbox-precache…`). Today the worker caches no API
 * responses, so this finds nothing; it is here so that adding runtime caching cannot leave
 * one user's content to the next.
 */
export async function clearUserCaches(deps: DeviceDataDeps = browserDeps()): Promise<string[]> {
  const caches = deps.caches;
  if (!caches) return [];
  try {
    const names = (await caches.keys()).filter((n) => !n.startsWith('workbox-precache'));
    await Promise.all(names.map((n) => caches.delete(n)));
    return names;
  } catch {
    return [];
  }
}

/**
 * At start: deletes every replica on the device that belongs to no session (`keep`) and that no
 * tab has open: what a session that was not kept leaves behind once its last tab is closed (a
 * browser cannot run code reliably when a tab closes), and what a sign-out could not finish.
 * Without Web Locks it cannot tell whether another tab is using a replica, so it deletes nothing.
 * Returns the replicas deleted.
 */
export async function sweepReplicas(keep: readonly string[], deps: DeviceDataDeps = browserDeps()): Promise<string[]> {
  const factory = deps.indexedDB;
  const locks = deps.locks;
  if (!factory || !locks) return [];
  const listed = await listDatabases(factory);
  const present = new Set<string>();
  for (const n of listed ?? []) {
    const replica = replicaOfIndexedDbName(n);
    if (replica) present.add(replica);
  }
  const candidates = new Set(present);
  for (const name of registered(deps)) {
    // Listed and absent: nothing to delete, only the note.
    if (listed && !present.has(name)) unregisterReplica(name, deps);
    else if (name.startsWith(REPLICA_PREFIX)) candidates.add(name);
  }
  const swept: string[] = [];
  for (const name of candidates) {
    if (keep.includes(name)) continue;
    const result = await locks.request(replicaLockName(name), { mode: 'exclusive', ifAvailable: true }, async (lock) =>
      lock ? removeReplica(name, deps, DELETE_TIMEOUT_MS) : null,
    );
    if (result) swept.push(name);
  }
  return swept;
}

/** The replica of a user (what the app opens for them). */
export function replicaOf(userId: string): string {
  return databaseNameFor(userId);
}
