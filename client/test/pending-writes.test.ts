import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

test('pendingWrites counts the messages the user wrote, not the receipts waiting beside them', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice);
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id);
  for (let i = 0; i < 5; i++) await a.sendMessage(conv, `message ${i}`);
  await until(a.messages$(conv, 10), (ms) => ms.length === 5 && ms.every((m) => m.status === 'delivered'), 'delivered to B');
  await until(b.connection$, (s) => s.status === 'online', 'B has nothing left to send');

  await server.stop();
  try {
    await until(b.connection$, (s) => s.status === 'offline', 'B offline');
    await b.markConversationRead(conv);
    const read = await b.database.messages.find({ selector: { recipient: bob.id, isRead: true } }).exec();
    expect(read).toHaveLength(5);
    // Receipts take no outbox entry: no bookkeeping write per message read.
    expect(await b.database.outbox.find().exec()).toHaveLength(0);
    expect((await until(b.connection$, () => true, 'state')).pendingWrites).toBe(0);

    const reply = await b.sendMessage(conv, 'a reply written offline');
    await b.editMessage(reply.id, 'a reply written offline, edited');
    await b.sendMessage(conv, 'and another one');
    await until(b.connection$, (s) => s.status === 'offline' && s.pendingWrites === 2, 'two messages of his own to send');
    // New messages are counted from the replica (seq 0), not from a per-message outbox entry;
    // only the edit took one.
    expect((await b.database.outbox.find().exec()).map((e) => e.docId)).toEqual([reply.id]);
  } finally {
    await server.start();
  }
  // The receipts were kept out of the count, not out of the sync.
  await until(a.messages$(conv, 10), (ms) => ms.filter((m) => m.mine).every((m) => m.status === 'read'), 'A sees them read');
  await until(a.messages$(conv, 10), (ms) => ms.length === 7, 'A receives both replies');
  await until(b.connection$, (s) => s.status === 'online' && s.pendingWrites === 0, 'B has sent everything');
  expect(await b.database.outbox.find({ selector: { state: 'pending' } }).exec()).toHaveLength(0);
});

test('every tab counts the messages another tab wrote, and sees them sent', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const tab = { multiInstance: true, ignoreDuplicate: true, databaseName: `tabs-unsent-${alice.id}` };
  const t1 = await openDevice(server.url, alice, tab);
  const t2 = await openDevice(server.url, alice, tab);
  const conv = await t1.createConversation(bob.id);
  await until(t1.connection$, (s) => s.status === 'online', 'tab 1 online');
  await server.stop();
  try {
    await t2.sendMessage(conv, 'written in tab 2 while offline');
    await until(t1.connection$, (s) => s.pendingWrites === 1, 'tab 1 counts it');
    await until(t2.connection$, (s) => s.pendingWrites === 1, 'tab 2 counts it');
  } finally {
    await server.start();
  }
  await until(t1.connection$, (s) => s.status === 'online' && s.pendingWrites === 0, 'tab 1 sees it sent');
  await until(t2.connection$, (s) => s.pendingWrites === 0, 'tab 2 sees it sent');
});
