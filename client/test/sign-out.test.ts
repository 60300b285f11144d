import { newMessageDoc, newMessageId } from '@fetchwork/shared-schema';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { PDF_BYTES } from '../../sync-server/test/support/uploads';
import { type DeviceDataDeps, forgetReplica, holdReplica, REGISTRY_KEY, registerReplica, sweepReplicas } from '../src/auth/device-data';
import type { StoredSession } from '../src/auth/session';
import { SessionTabs } from '../src/auth/session-tabs';
import { openInboxDatabase } from '../src/db/database';
import { devModeKit } from '../src/db/dev-mode';
import { getInboxStorage } from '../src/db/dexie-storage';
import { databaseNameFor, replicaOfIndexedDbName } from '../src/db/replica-name';
import { fileQueueNameFor } from '../src/files/file-queue';
import { closeAllDevices, type DeviceOptions, makeUser, openDevice, type TestUser, until } from './support/devices';
import { MemoryLocks, MemoryStorage } from './support/locks';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(async () => {
  await server.start();
  await closeAllDevices();
});
afterAll(() => server.dispose());

/** The same fake IndexedDB the devices use (test/support/devices.ts): one "browser profile". */
const storage = getInboxStorage({ indexedDB, IDBKeyRange });

function deps(extra: Partial<DeviceDataDeps> = {}): DeviceDataDeps {
  return { indexedDB, storage, locks: null, registry: new MemoryStorage(), caches: null, ...extra };
}

/** What `indexedDB.databases()` lists of one replica (its RxDB storage instances and its file queue). */
async function databasesOf(name: string): Promise<string[]> {
  return (await indexedDB.databases())
    .map((d) => d.name as string)
    .filter((n) => n === fileQueueNameFor(name) || n.startsWith(`rxdb-dexie-${name}--`))
    .sort();
}

/** Opened under the name the app gives the user's replica. */
function openReplica(user: TestUser, options: DeviceOptions = {}) {
  return openDevice(server.url, user, { databaseName: databaseNameFor(user.id), ...options });
}

const pdf = (name: string) => new File([new Uint8Array(PDF_BYTES)], name, { type: 'application/pdf' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sign-out forgets the device', () => {
  test('deletes every IndexedDB database of the replica and its file queue, unsent work included; another user keeps theirs', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const name = databaseNameFor(alice.id);
    const d = deps();
    registerReplica(name, d);
    const a = await openReplica(alice);
    const b = await openReplica(bob);
    const conv = await a.createConversation(bob.id, null, 'Bob');
    await a.sendMessage(conv, 'delivered before signing out');
    await until(b.messages$(conv, 10), (ms) => ms.length === 1, 'Bob has the first message');

    await server.stop();
    await a.sendMessage(conv, 'typed offline');
    await a.sendMessageWithFiles(conv, 'with the contract', [pdf('contract.pdf')]);
    const work = await until(a.unsentWork$(), (w) => w.messages === 2, 'two messages unsent');
    expect(work).toEqual({ messages: 2, files: 1, refused: 0 });
    const before = await databasesOf(name);
    expect(before).toContain(fileQueueNameFor(name));
    expect(before).toContain(`rxdb-dexie-${name}--0--messages`);

    await a.close();
    expect(await forgetReplica(name, d)).toEqual({ complete: true, left: [] });
    expect(await databasesOf(name)).toEqual([]);
    expect(d.registry?.getItem(REGISTRY_KEY)).toBeNull();
    expect(await databasesOf(databaseNameFor(bob.id))).not.toEqual([]);

    // Opened again under the same name, the replica is new: nothing of before is in it.
    const reopened = await openInboxDatabase({ name, storage, devMode: devModeKit, multiInstance: false });
    try {
      expect(await reopened.messages.count().exec()).toBe(0);
      expect(await reopened.conversations.count().exec()).toBe(0);
      expect(await reopened.getLocal('unsent-since')).toBeNull();
    } finally {
      await reopened.remove();
    }
    await forgetReplica(name, d);
    expect(await databasesOf(name)).toEqual([]);
  });

  test('where the browser cannot list its databases, the names RxDB and the file queue use are deleted', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const name = databaseNameFor(alice.id);
    const a = await openReplica(alice);
    const conv = await a.createConversation(bob.id, null, 'Bob');
    await server.stop();
    await a.sendMessageWithFiles(conv, '', [pdf('plan.pdf')]);
    await a.close();
    expect((await databasesOf(name)).length).toBeGreaterThan(3);

    const unlisted = { deleteDatabase: (n: string) => indexedDB.deleteDatabase(n) } as unknown as IDBFactory;
    const result = await forgetReplica(name, deps({ indexedDB: unlisted }));
    expect(result.complete).toBe(true);
    expect(await databasesOf(name)).toEqual([]);
  });

  test('another tab that has the replica open holds the deletion back until it has closed it', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const name = databaseNameFor(alice.id);
    const d = deps({ locks: new MemoryLocks() as unknown as LockManager });
    const tab = { multiInstance: true, ignoreDuplicate: true };
    const release1 = await holdReplica(name, d);
    const t1 = await openReplica(alice, tab);
    const release2 = await holdReplica(name, d);
    const t2 = await openReplica(alice, tab);
    const conv = await t1.createConversation(bob.id, null, 'Bob');
    await t1.sendMessage(conv, 'hello');
    await until(t2.messages$(conv, 10), (ms) => ms.length === 1, 'the second tab sees it');

    // The first tab signs out: it closes its replica and lets go of it.
    await t1.close();
    release1();
    let finished = false;
    const forgetting = forgetReplica(name, d, { waitMs: 30_000 }).then((r) => {
      finished = true;
      return r;
    });
    await sleep(500);
    expect(finished).toBe(false);
    expect((await databasesOf(name)).length).toBeGreaterThan(0);

    // The second tab heard of it (BroadcastChannel in the app) and closes.
    await t2.close();
    release2();
    expect(await forgetting).toEqual({ complete: true, left: [] });
    expect(await databasesOf(name)).toEqual([]);
  });

  test('a tab that never lets go does not hold the sign-out up for ever', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const name = databaseNameFor(alice.id);
    const d = deps({ locks: new MemoryLocks() as unknown as LockManager });
    await holdReplica(name, d);
    const stuck = await openReplica(alice, { multiInstance: true, ignoreDuplicate: true, files: null });
    await stuck.createConversation(bob.id, null, 'Bob');

    const started = Date.now();
    const result = await forgetReplica(name, d, { waitMs: 300, deleteTimeoutMs: 5_000 });
    // Dexie closes its connection on the deletion's `versionchange`, so the deletion completes.
    expect(result).toEqual({ complete: true, left: [] });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await databasesOf(name)).toEqual([]);
    await stuck.close().catch(() => undefined);
  });

  test('at start, replicas no session keeps and no tab has open are deleted; the kept one and one in use stay', async () => {
    const kept = makeUser('Kept');
    const inUse = makeUser('InUse');
    const left = makeUser('Left');
    const bob = makeUser('Bob');
    const registry = new MemoryStorage();
    const d = deps({ locks: new MemoryLocks() as unknown as LockManager, registry });
    for (const u of [kept, inUse, left]) registerReplica(databaseNameFor(u.id), d);
    const k = await openReplica(kept);
    await k.createConversation(bob.id, null, 'Bob');
    await k.close();
    const l = await openReplica(left);
    await l.sendMessage(await l.createConversation(bob.id, null, 'Bob'), 'left behind by a session that was not kept');
    await l.close();
    const release = await holdReplica(databaseNameFor(inUse.id), d);
    const u = await openReplica(inUse);
    await u.createConversation(bob.id, null, 'Bob');

    const swept = await sweepReplicas([databaseNameFor(kept.id)], d);
    expect(swept).toContain(databaseNameFor(left.id));
    expect(swept).not.toContain(databaseNameFor(kept.id));
    expect(swept).not.toContain(databaseNameFor(inUse.id));
    expect(await databasesOf(databaseNameFor(left.id))).toEqual([]);
    expect(await databasesOf(databaseNameFor(kept.id))).not.toEqual([]);
    expect(await databasesOf(databaseNameFor(inUse.id))).not.toEqual([]);
    expect(JSON.parse(registry.getItem(REGISTRY_KEY) ?? '[]')).not.toContain(databaseNameFor(left.id));

    // Without Web Locks nobody can tell whether another tab uses a replica: nothing is deleted.
    expect(await sweepReplicas([], deps())).toEqual([]);
    await u.close();
    release();
  });
});

describe('unsent work (the sign-out warning)', () => {
  test('counts messages and files still to go, and apart from them what the server refused', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const a = await openReplica(alice);
    const conv = await a.createConversation(bob.id, null, 'Bob');
    await (await a.whenLeader()).awaitInSync();
    await until(a.unsentWork$(), (w) => w.messages === 0 && w.files === 0 && w.refused === 0, 'nothing unsent');

    // Refused for good: a system message (only the server writes those), and a file whose bytes
    // are not what it claims to be.
    const system = {
      ...newMessageDoc({
        id: newMessageId(),
        conversation: conv,
        sender: alice.id,
        recipient: bob.id,
        content: 'x',
        at: new Date().toISOString(),
      }),
      messageType: 'system' as const,
    };
    await a.database.messages.insert(system);
    await a.sendMessageWithFiles(conv, 'a photo', [new File([new Uint8Array(PDF_BYTES)], 'photo.png', { type: 'image/png' })]);
    expect(await until(a.unsentWork$(), (w) => w.refused === 2, 'two refused', 20_000)).toEqual({ messages: 0, files: 0, refused: 2 });

    await server.stop();
    await a.sendMessage(conv, 'offline one');
    await a.sendMessageWithFiles(conv, 'offline two', [pdf('a.pdf'), pdf('b.pdf')]);
    expect(await until(a.unsentWork$(), (w) => w.messages === 2, 'two to send')).toEqual({ messages: 2, files: 2, refused: 2 });

    await server.start();
    expect(await until(a.unsentWork$(), (w) => w.messages === 0, 'sent once online', 20_000)).toEqual({
      messages: 0,
      files: 0,
      refused: 2,
    });
  });
});

describe('names and tabs', () => {
  test("an IndexedDB name tells whose replica it is; the file queue's name is the replica's with -files", () => {
    const name = databaseNameFor('64b000000000000000000a11');
    expect(replicaOfIndexedDbName(`rxdb-dexie-${name}--0--messages`)).toBe(name);
    expect(replicaOfIndexedDbName(`rxdb-dexie-${name}--3--_rxdb_internal`)).toBe(name);
    expect(replicaOfIndexedDbName(`rxdb-dexie-${name}--0--plugin-local-documents-`)).toBe(name);
    expect(replicaOfIndexedDbName(fileQueueNameFor(name))).toBe(name);
    expect(replicaOfIndexedDbName('rxdb-dexie-someone-else--0--messages')).toBeNull();
    expect(replicaOfIndexedDbName('workbox-expiration')).toBeNull();
    // A user id that ends where another's continues is not mistaken for it.
    const other = databaseNameFor('64b000000000000000000a11-');
    expect(replicaOfIndexedDbName(`rxdb-dexie-${other}--0--messages`)).toBe(other);
  });

  test('tabs share a session that is not kept on the device, and sign out together', async () => {
    const session: StoredSession = { token: 't', user: { id: 'u1', name: 'Alice' }, persistent: false };
    let first: StoredSession | null = session;
    let second: StoredSession | null = null;
    const signedOut: string[] = [];
    const t1 = new SessionTabs({ current: () => first, signedIn: () => undefined, signedOut: () => undefined }, null);
    const t2 = new SessionTabs(
      {
        current: () => second,
        signedIn: (s) => {
          second = s;
        },
        signedOut: (id) => {
          signedOut.push(id);
          second = null;
        },
      },
      null,
    );
    try {
      expect(await t2.ask(1000)).toEqual(session);
      second = session;
      first = null;
      t1.announceSignedOut('someone-else');
      t1.announceSignedOut('u1');
      await expect.poll(() => signedOut).toEqual(['u1']);
      t1.announceSignedIn({ ...session, token: 't2' });
      await expect.poll(() => second).toEqual({ ...session, token: 't2' });
    } finally {
      t1.close();
      t2.close();
    }
  });
});
