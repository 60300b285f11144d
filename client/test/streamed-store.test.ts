import { getAssumedMasterState } from 'rxdb';
import { afterAll, afterEach, beforeAll, expect, test, vi } from 'vitest';
import { waitFor } from '../../sync-server/test/support/test-server';
import { closeAllDevices, makeUser, openDevice, outgoingMessagePushes, type TestUser, until } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

/**
 * Streamed batches are stored by the ServerDocWriter inside RxDB's downstream queue
 * (collection-sync.ts, `storeStreamed`), not by RxDB's downstream: a new message is one insert
 * plus its master-state row, and a message never reaches the replica before the conversation
 * streamed ahead of it.
 */

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(() => {
  vi.restoreAllMocks();
  return closeAllDevices();
});
afterAll(() => server.dispose());

test('a streamed message is stored after its conversation, with its master state: reading it pushes one row', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const messaging = server.current.messaging;
  const asAuth = (u: TestUser) => ({ id: u.id, name: u.name, email: null, expiresAt: null, sessionId: null });
  // Bob's device is live before Alice writes: what is committed before its bootstrap is answered
  // comes with the bootstrap, not on the stream.
  const carol = makeUser('Carol');
  const earlier = (await messaging.createConversation(asAuth(carol), bob.id, null)).conversation.id;
  await messaging.sendMessage(asAuth(carol), earlier, { content: 'hi from Carol' });
  const b = await openDevice(server.url, bob);
  const engine = await b.whenLeader();
  await waitFor(async () => (await b.database.messages.count().exec()) === 1, 'Bob’s history');
  await engine.awaitInSync();
  const order: string[] = [];
  b.database.conversations.insert$.subscribe((e) => order.push(`conversation ${e.documentData.id}`));
  b.database.messages.insert$.subscribe((e) => order.push(`message ${e.documentData.id}`));
  const pushes = outgoingMessagePushes(b);

  // Alice starts the conversation and writes at once (through the service REST calls): the
  // two arrive a moment apart, and the conversation takes longer to store (it is read first).
  const conv = (await messaging.createConversation(asAuth(alice), bob.id, null)).conversation.id;
  const first = await messaging.sendMessage(asAuth(alice), conv, { content: 'hello Bob' });
  await waitFor(async () => (await b.database.messages.findOne(first.id).exec()) !== null, 'the message in Bob’s replica');
  expect(order).toEqual([`conversation ${conv}`, `message ${first.id}`]);
  await engine.awaitInSync();
  const state = engine.messages.state.internalReplicationState!;
  expect(Object.keys(await getAssumedMasterState(state, [first.id]))).toEqual([first.id]);

  // Reading it pushes the read mark once: with its master state there is no conflict round trip.
  await b.markConversationRead(conv);
  await waitFor(async () => (await server.current.store.getDocs('messages', [first.id]))[0]?.isRead === true, 'the read mark');
  await engine.awaitInSync();
  expect(pushes.flat().filter((id) => id === first.id)).toEqual([first.id]);
  // Both came on the stream, not in a pull.
  expect(engine.messages.streamBuffer.counts.handed).toBeGreaterThan(0);
  expect(engine.conversations.streamBuffer.counts.handed).toBeGreaterThan(0);
});

test('a streamed batch that cannot be stored is pulled again: nothing is lost', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice);
  const b = await openDevice(server.url, bob);
  const engine = await b.whenLeader();
  await until(b.connection$, (s) => s.status === 'online', 'Bob online');
  const conv = await a.createConversation(bob.id);
  const first = await a.sendMessage(conv, 'one');
  await waitFor(async () => (await b.database.messages.findOne(first.id).exec()) !== null, 'the first message');
  await engine.awaitInSync();

  // IndexedDB refusing one write (e.g. a transaction aborted by the browser) cannot be caused
  // on demand in fake-indexeddb; the writer's first call fails instead.
  const writer = engine.messages.writer;
  const write = writer.writeInDownstream.bind(writer);
  let failed = 0;
  vi.spyOn(writer, 'writeInDownstream').mockImplementation((docs, options) => {
    if (failed === 0 && docs.some((d) => d.content === 'two')) {
      failed++;
      return Promise.reject(new Error('the transaction was aborted'));
    }
    return write(docs, options);
  });
  const resyncs = engine.messages.streamBuffer.counts.resyncs;
  const second = await a.sendMessage(conv, 'two');
  await waitFor(async () => failed === 1, 'the failed write');
  const third = await a.sendMessage(conv, 'three');
  await waitFor(async () => (await b.database.messages.findByIds([second.id, third.id]).exec()).size === 2, 'both messages');
  expect(engine.messages.streamBuffer.counts.resyncs).toBeGreaterThan(resyncs);
  await engine.awaitInSync();
  const stored = await b.database.messages.find({ selector: { conversation: conv } }).exec();
  expect(stored.map((m) => m.content).sort()).toEqual(['one', 'three', 'two']);
});
