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
    const receipts = await b.database.outbox.find({ selector: { state: 'pending' } }).exec();
    expect(receipts).toHaveLength(5);
    expect((await until(b.connection$, () => true, 'state')).pendingWrites).toBe(0);

    const reply = await b.sendMessage(conv, 'a reply written offline');
    await b.editMessage(reply.id, 'a reply written offline, edited');
    await b.sendMessage(conv, 'and another one');
    await until(b.connection$, (s) => s.status === 'offline' && s.pendingWrites === 2, 'two messages of his own to send');
  } finally {
    await server.start();
  }
  // The receipts were kept out of the count, not out of the sync.
  await until(a.messages$(conv, 10), (ms) => ms.filter((m) => m.mine).every((m) => m.status === 'read'), 'A sees them read');
  await until(a.messages$(conv, 10), (ms) => ms.length === 7, 'A receives both replies');
  await until(b.connection$, (s) => s.status === 'online' && s.pendingWrites === 0, 'B has sent everything');
  expect(await b.database.outbox.find({ selector: { state: 'pending' } }).exec()).toHaveLength(0);
});
