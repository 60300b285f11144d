import { getAssumedMasterState } from 'rxdb';
import { afterAll, afterEach, beforeAll, expect, test, vi } from 'vitest';
import { waitFor } from '../../sync-server/test/support/test-server';
import { closeAllDevices, makeUser, openDevice, outgoingMessagePushes, until } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(() => {
  vi.restoreAllMocks();
  return closeAllDevices();
});
afterAll(() => server.dispose());

/** Alice sends Bob one message; Bob's replica holds streamed stamps far longer than a test runs. */
async function toBobHolding(text: string) {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  // Whatever Bob stores before the hold ends was not held.
  const [a, b] = await Promise.all([
    openDevice(server.url, alice),
    openDevice(server.url, bob, { tuning: { receiptStampHoldMs: 10 * 60_000 } }),
  ]);
  const conv = await a.createConversation(bob.id);
  const sent = await a.sendMessage(conv, text);
  return { a, b, bob, conv, sent };
}

test("the server's stamp on a received message waits on the recipient's replica while the sender sees it at once; an edit is applied at once and takes it along", async () => {
  const { a, b, bob, conv, sent } = await toBobHolding('hello');
  const bobsCopy = b.database.messages.findOne(sent.id).$;
  await until(bobsCopy, (d) => d !== null && d.seq > 0, "the message in Bob's replica");

  // Bob's replica reported it delivered; Alice's screen shows the tick from the server's stamp.
  await until(a.messages$(conv, 50), (ms) => ms.find((m) => m.id === sent.id)?.status === 'delivered', 'Alice sees it delivered');
  const alicesCopy = await a.database.messages.findOne(sent.id).exec();
  expect(alicesCopy?.deliveredAt).not.toBeNull();
  // Something streamed to Bob after the stamp, and stored: the stamp's frame came before it.
  const later = await a.createConversation(bob.id, 'job-receipt-hold');
  await until(b.database.conversations.findOne(later).$, (d) => d !== null, "a later conversation in Bob's replica");
  // Bob's copy has not stored the stamp streamed back to him.
  expect((await b.database.messages.findOne(sent.id).exec())?.deliveredAt).toBeNull();

  // An edit is a change Bob sees: applied at once, with the stamp held before it.
  await a.editMessage(sent.id, 'hello, edited');
  const edited = await until(bobsCopy, (d) => d?.content === 'hello, edited', "the edit in Bob's replica");
  expect(edited?.deliveredAt).toBe(alicesCopy?.deliveredAt);
  expect(edited?.isEdited).toBe(true);
});

test('the stamps on messages to someone else are never held: the sender stores them at once', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  // The sender's hold is on, as long as the test: the ticks on her screen must not wait for it.
  const [a] = await Promise.all([
    openDevice(server.url, alice, { tuning: { receiptStampHoldMs: 10 * 60_000 } }),
    openDevice(server.url, bob),
  ]);
  const conv = await a.createConversation(bob.id);
  const sent = await a.sendMessage(conv, 'tick me');
  const stored = await until(a.database.messages.findOne(sent.id).$, (d) => d?.deliveredAt != null, "the stamp in Alice's replica");
  expect(stored?.recipient).toBe(bob.id);
});

test("the echo of the recipient's own read waits too, and is not written back and pushed again meanwhile", async () => {
  const { a, b, bob, conv, sent } = await toBobHolding('read me');
  const pushes = outgoingMessagePushes(b);
  await until(b.database.messages.findOne(sent.id).$, (d) => d !== null && d.seq > 0, "the message in Bob's replica");
  await b.markConversationRead(conv);
  await until(a.messages$(conv, 50), (ms) => ms.find((m) => m.id === sent.id)?.status === 'read', 'Alice sees it read');
  // Past the moment the echo of Bob's read reached him (a later change came after it) and past
  // the replica's idle-time repair of skipped echoes (250 ms after it goes idle).
  const later = await a.createConversation(bob.id, 'job-read-echo');
  await until(b.database.conversations.findOne(later).$, (d) => d !== null, "a later conversation in Bob's replica");
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(pushes.flat().filter((id) => id === sent.id)).toHaveLength(1);
  const bobs = await b.database.messages.findOne(sent.id).exec();
  expect(bobs?.isRead).toBe(true);
  expect(bobs?.readAt).not.toBe((await a.database.messages.findOne(sent.id).exec())?.readAt);
});

test('a new message arriving behind held stamps is stored before them, with its master state before theirs', async () => {
  const { a, b, conv, sent } = await toBobHolding('first');
  const engine = await b.whenLeader();
  await until(b.database.messages.findOne(sent.id).$, (d) => d !== null && d.seq > 0, "the message in Bob's replica");
  await until(a.messages$(conv, 50), (ms) => ms.find((m) => m.id === sent.id)?.status === 'delivered', 'Alice sees it delivered');
  await waitFor(() => engine.messages.streamBuffer.pending > 0, "the stamp held in Bob's stream buffer");

  // Every write of documents and of master states, in order.
  const writes: string[] = [];
  b.database.messages.$.subscribe((e) => writes.push(`${e.operation} ${e.documentId}`));
  const state = engine.messages.state.internalReplicationState!;
  const meta = state.input.metaInstance as typeof state.input.metaInstance & { storedBelow(rows: { document: unknown }[]): void };
  // Master-state rows only: the replication's checkpoints are rows of the same store.
  const noteMasterStates = (rows: readonly { document: unknown }[]) => {
    const docs = rows.map((r) => r.document as { itemId: string; isCheckpoint: string }).filter((d) => d.isCheckpoint === '0');
    if (docs.length > 0) writes.push(`master state ${docs.map((d) => d.itemId).join(',')}`);
  };
  const storedBelow = meta.storedBelow.bind(meta);
  vi.spyOn(meta, 'storedBelow').mockImplementation((rows) => {
    noteMasterStates(rows);
    return storedBelow(rows);
  });
  const bulkWrite = meta.bulkWrite.bind(meta);
  vi.spyOn(meta, 'bulkWrite').mockImplementation((rows, context) => {
    noteMasterStates(rows);
    return bulkWrite(rows, context);
  });

  // The new message flushes the held stamp: one batch, the new message and its master state first.
  const second = await a.sendMessage(conv, 'second');
  await until(b.database.messages.findOne(sent.id).$, (d) => d?.deliveredAt != null, "the stamp in Bob's replica");
  await engine.awaitInSync();
  expect(writes.slice(0, 4)).toEqual([`INSERT ${second.id}`, `master state ${second.id}`, `UPDATE ${sent.id}`, `master state ${sent.id}`]);
  const [serverFirst, serverSecond] = await server.current.store.getDocs('messages', [sent.id, second.id]);
  const assumed = await getAssumedMasterState(state, [sent.id, second.id]);
  expect(assumed[sent.id]?.docData.seq).toBe(serverFirst?.seq);
  expect(assumed[sent.id]?.docData.deliveredAt).toBe(serverFirst?.deliveredAt);
  expect(assumed[second.id]?.docData.seq).toBe(serverSecond?.seq);
});
