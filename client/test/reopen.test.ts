import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { countBy, replicaMessages, serverMessages } from './support/replica';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

test('writes pending when the database was closed are pushed after it is reopened', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const dbName = `reopen-${alice.id}`;
  let a = await openDevice(server.url, alice, { databaseName: dbName });
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id);
  const first = await a.sendMessage(conv, 'first');
  await until(b.messages$(conv, 10), (ms) => ms.length === 1, 'B has the first message');
  await until(a.messages$(conv, 10), (ms) => ms[0]?.status === 'delivered', 'first delivered');

  a.socket.disconnect();
  const p1 = await a.sendMessage(conv, 'pending one');
  const p2 = await a.sendMessage(conv, 'pending two');
  await a.editMessage(first.id, 'first, edited while offline');
  await until(a.connection$, (s) => s.pendingWrites === 3, 'three unsent writes');
  await a.close();
  expect(await serverMessages(server, alice.id)).toHaveLength(1);

  a = await openDevice(server.url, alice, { databaseName: dbName });
  const onB = await until(
    b.messages$(conv, 10),
    (ms) => ms.length === 3 && ms[0]!.content === 'first, edited while offline',
    'B gets them',
  );
  expect(onB.map((m) => m.id)).toEqual([first.id, p1.id, p2.id]);
  await until(a.messages$(conv, 10), (ms) => ms.length === 3 && ms.every((m) => m.status === 'delivered'), 'all delivered on A');
  await until(a.connection$, (s) => s.status === 'online' && s.pendingWrites === 0, 'nothing pending after the reopen');
  const stored = await serverMessages(server, alice.id);
  expect(stored).toHaveLength(3);
  expect([...countBy(await replicaMessages(a), (m) => m.id).values()].every((n) => n === 1)).toBe(true);
});

test('a replica opens and reads with the server down', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const dbName = `offline-open-${alice.id}`;
  let a = await openDevice(server.url, alice, { databaseName: dbName });
  const conv = await a.createConversation(bob.id, null, 'Bob');
  await a.sendMessage(conv, 'kept locally');
  // The server's copy stored (not only acknowledged): the replica knows it is not pending.
  await until(a.messages$(conv, 10), (ms) => (ms[0]?.seq ?? 0) > 0, 'the server copy');
  await a.close();

  await server.stop();
  try {
    a = await openDevice(server.url, alice, { databaseName: dbName });
    const convs = await until(a.conversations$(), (cs) => cs.length === 1, 'the inbox from the local replica');
    expect(convs[0]!.lastMessageView?.content).toBe('kept locally');
    const state = await until(a.connection$, (s) => s.status === 'offline' || s.status === 'connecting', 'not online');
    expect(state.pendingWrites).toBe(0);
  } finally {
    await server.start();
  }
});
