import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { type BulkWriteRow, getLastCheckpointDoc, type RxStorageInstance, setCheckpoint } from 'rxdb';
import { BehaviorSubject } from 'rxjs';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { deferUpstreamCheckpoints } from '../src/db/deferred-up-checkpoint';
import { getInboxStorage } from '../src/db/dexie-storage';
import { waitFor } from '../../sync-server/test/support/test-server';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { openMetaInstance as openMeta, patchMetaInstances } from './support/meta-instance';
import { replicaMessages, serverMessages } from './support/replica';
import { type RestartableServer, startRestartableServer } from './support/server';

const base = getInboxStorage({ indexedDB, IDBKeyRange });

interface Written {
  context: string;
  itemId: string;
  isCheckpoint: string;
}

/** The base storage, recording every meta-instance write that reaches it; `dropUp` loses upstream checkpoints (a crash before each is stored). */
const recordingStorage = (written: Written[], { dropUp = false } = {}) =>
  patchMetaInstances(base, (instance) => {
    const bulkWrite = instance.bulkWrite.bind(instance);
    instance.bulkWrite = (rows: BulkWriteRow<any>[], context: string) => {
      for (const r of rows) written.push({ context, itemId: r.document.itemId, isCheckpoint: r.document.isCheckpoint });
      if (dropUp && rows.every((r) => r.document.isCheckpoint === '1' && r.document.itemId === 'up')) return Promise.resolve({ error: [] });
      return bulkWrite(rows, context);
    };
  });

let counter = 0;

/** What RxDB's replication protocol keeps for its checkpoint functions (replication-protocol/index.js). */
const protocolState = (metaInstance: RxStorageInstance<any, any, any>) =>
  ({
    input: { metaInstance },
    primaryPath: 'id',
    checkpointKey: Promise.resolve('test-key'),
    checkpointQueue: Promise.resolve(),
    lastCheckpointDoc: {},
    events: { canceled: new BehaviorSubject(false) },
  }) as any;

const upCheckpoints = (written: Written[]) => written.filter((w) => w.isCheckpoint === '1' && w.itemId === 'up').length;

test("RxDB's upstream checkpoints wait, and reads see the latest; a close stores none; every other write goes through at once", async () => {
  const written: Written[] = [];
  const name = `deferred-${++counter}`;
  const meta = await openMeta(deferUpstreamCheckpoints(recordingStorage(written), 60_000), name);
  const state = protocolState(meta);
  for (let i = 1; i <= 20; i++) await setCheckpoint(state, 'up', { id: `doc-${i}`, lwt: i });
  await setCheckpoint(state, 'down', { seq: 7 });
  await state.checkpointQueue;
  expect(upCheckpoints(written)).toBe(0);
  expect(written.filter((w) => w.itemId === 'down')).toHaveLength(1);
  // RxDB reads the latest one back (its start, a RESYNC), not the stored one.
  const reread = protocolState(meta);
  expect(await getLastCheckpointDoc(reread, 'up')).toEqual({ id: 'doc-20', lwt: 20 });

  // A close may run in a page's freeze handler, where a transaction would stay open.
  await meta.close();
  expect(upCheckpoints(written)).toBe(0);
  const reopened = await openMeta(base, name);
  expect(await getLastCheckpointDoc(protocolState(reopened), 'up')).toBeUndefined();
  expect(await getLastCheckpointDoc(protocolState(reopened), 'down')).toEqual({ seq: 7 });
  await reopened.close();
});

test('a deferred upstream checkpoint is stored after the delay, over the one stored before', async () => {
  const written: Written[] = [];
  const name = `deferred-${++counter}`;
  const meta = await openMeta(deferUpstreamCheckpoints(recordingStorage(written), 10), name);
  const state = protocolState(meta);
  await setCheckpoint(state, 'up', { id: 'a', lwt: 1 });
  await new Promise((r) => setTimeout(r, 100));
  await setCheckpoint(state, 'up', { id: 'b', lwt: 2 });
  await new Promise((r) => setTimeout(r, 100));
  expect(upCheckpoints(written)).toBe(2);
  const other = await openMeta(base, name);
  expect(await getLastCheckpointDoc(protocolState(other), 'up')).toEqual({ id: 'b', lwt: 2 });
  await other.close();
  await meta.close();
  expect(upCheckpoints(written)).toBe(2);
});

test('removing the instance drops a deferred checkpoint', async () => {
  const written: Written[] = [];
  const meta = await openMeta(deferUpstreamCheckpoints(recordingStorage(written), 60_000), `deferred-${++counter}`);
  await setCheckpoint(protocolState(meta), 'up', { id: 'a', lwt: 1 });
  await meta.remove();
  expect(upCheckpoints(written)).toBe(0);
});

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server?.dispose());

test('a replica whose upstream checkpoints were never stored (a crash each time) pushes nothing again when it reopens', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const written: Written[] = [];
  const storage = recordingStorage(written, { dropUp: true });
  const databaseName = `deferred-crash-${alice.id}`;
  let a = await openDevice(server.url, alice, { databaseName, storage });
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id, null, 'Bob');
  for (let i = 0; i < 5; i++) await a.sendMessage(conv, `message ${i}`);
  // Bob can answer once the conversation reached his replica (under load that takes a moment).
  await until(b.conversations$(), (cs) => cs.some((c) => c.id === conv), "the conversation in Bob's list");
  await b.sendMessage(conv, 'an answer');
  await until(a.messages$(conv, 10), (ms) => ms.length === 6 && ms.every((m) => m.seq > 0 && m.status !== 'pending'), 'all six stored');
  await waitFor(async () => upCheckpoints(written) > 0, 'an upstream checkpoint to be stored (and lost)');
  await a.close();
  expect(upCheckpoints(written)).toBeGreaterThan(0);
  expect(written.filter((w) => w.context === 'replication-set-checkpoint' && w.itemId === 'up')).toHaveLength(upCheckpoints(written));

  a = await openDevice(server.url, alice, { databaseName, storage });
  const pushed: unknown[] = [];
  a.socket.onAnyOutgoing((event: string, payload: { rows?: unknown[] }) => {
    if (event === 'sync:push') pushed.push(...(payload.rows ?? []));
  });
  const next = await a.sendMessage(conv, 'after the reopen');
  await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.id === next.id), 'B gets the new message');
  await until(a.connection$, (s) => s.status === 'online' && s.pendingWrites === 0, 'nothing pending');
  const idsAndSeqs = (docs: { id: string; seq: number }[]) => JSON.stringify(docs.map((m) => [m.id, m.seq]).sort());
  await waitFor(
    async () => idsAndSeqs(await replicaMessages(a)) === idsAndSeqs(await serverMessages(server, alice.id)),
    'the replica to hold what the server holds',
  );
  // Only the new message went up: the six already stored equal their master states.
  expect(pushed).toHaveLength(1);
});

test('stopping the replication right after it stored stream batches writes nothing to its meta instances', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const written: Written[] = [];
  const databaseName = `deferred-stop-${alice.id}`;
  const storage = recordingStorage(written);
  let a = await openDevice(server.url, alice, { databaseName, storage });
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id, null, 'Bob');
  const hello = await a.sendMessage(conv, 'hello');
  await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.id === hello.id), 'B gets the message');
  await until(b.conversations$(), (cs) => cs.some((c) => c.id === conv), "the conversation in Bob's list");
  const answer = await b.sendMessage(conv, 'an answer');
  await until(a.messages$(conv, 10), (ms) => ms.some((m) => m.id === answer.id), 'A stores the answer');
  // Within the checkpoints' delay: both the streamed batch's and RxDB's upstream one are unwritten.
  const before = written.length;
  await a.close();
  expect(written.slice(before)).toEqual([]);

  // The next start pulls what the unwritten checkpoints covered again, and keeps one copy of each.
  a = await openDevice(server.url, alice, { databaseName, storage });
  const later = await b.sendMessage(conv, 'after the restart');
  await until(a.messages$(conv, 10), (ms) => ms.some((m) => m.id === later.id), 'A gets the next message');
  const idsAndSeqs = (docs: { id: string; seq: number }[]) => JSON.stringify(docs.map((m) => [m.id, m.seq]).sort());
  await waitFor(
    async () => idsAndSeqs(await replicaMessages(a)) === idsAndSeqs(await serverMessages(server, alice.id)),
    'the replica to hold what the server holds',
  );
});
