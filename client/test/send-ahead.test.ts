import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { closeAllDevices, makeUser, openDevice, outgoingMessagePushes, until } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

/** Alice and Bob with a conversation the server has confirmed, Alice's replication idle. */
async function twoUsers() {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice);
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'hello');
  await until(a.messages$(conv, 10), (ms) => ms[0]?.status !== 'pending' && (ms[0]?.seq ?? 0) > 0, 'first message stored');
  await until(a.connection$, (s) => s.status === 'online' && s.pendingWrites === 0, 'nothing pending');
  return { a, b, conv };
}

test('a new message leaves before its local write ends, and reaches the server exactly once', async () => {
  const { a, b, conv } = await twoUsers();
  const pushes = outgoingMessagePushes(a);
  const m = await a.sendMessage(conv, 'sent ahead');
  // Out before the command returned, which is when its IndexedDB write has ended: RxDB's
  // upstream would only start then. (Other pushes, an echo repair say, may come and go.)
  expect(pushes.filter((ids) => ids.includes(m.id))).toEqual([[m.id]]);

  await until(a.messages$(conv, 10), (ms) => (ms.find((x) => x.id === m.id)?.seq ?? 0) > 0, "Alice's replica holds the server's copy");
  await until(b.messages$(conv, 10), (ms) => ms.some((x) => x.id === m.id && x.content === 'sent ahead'), 'Bob has it');
  await until(a.connection$, (s) => s.status === 'online' && s.pendingWrites === 0, 'nothing pending');
  // RxDB's upstream took the row sent ahead instead of pushing it again.
  expect(pushes.flat().filter((id) => id === m.id)).toHaveLength(1);
  const mine = (await until(a.messages$(conv, 10), () => true, 'read')).find((x) => x.id === m.id);
  // Sent, or further along by now (Bob's replica reports it delivered).
  expect(['sent', 'delivered', 'read']).toContain(mine?.status);
  expect(mine?.failure).toBeNull();
});

test('an edit made before the upstream took the message ends on the server as edited', async () => {
  const { a, b, conv } = await twoUsers();
  const m = await a.sendMessage(conv, 'first version');
  await a.editMessage(m.id, 'second version');
  await until(b.messages$(conv, 10), (ms) => ms.some((x) => x.id === m.id && x.content === 'second version'), 'Bob sees the edit');
  await until(a.connection$, (s) => s.status === 'online' && s.pendingWrites === 0, 'nothing pending');
  const mine = (await until(a.messages$(conv, 10), () => true, 'read')).find((x) => x.id === m.id);
  expect(mine).toMatchObject({ content: 'second version', isEdited: true, failure: null });
});

test('a push sent ahead whose answer is lost to a disconnect goes out again through the replication, once stored', async () => {
  const { a, b, conv } = await twoUsers();
  const pushes = outgoingMessagePushes(a);
  // The answer is lost: the socket drops right after the push left.
  let dropped: Promise<unknown> = Promise.resolve();
  const cut = (event: string, payload: { rows?: { newDocumentState: { content?: string } }[] }) => {
    if (event !== 'sync:push' || payload?.rows?.[0]?.newDocumentState.content !== 'answer lost') return;
    a.socket.offAnyOutgoing(cut);
    dropped = new Promise((resolve) => a.socket.once('disconnect', resolve));
    setTimeout(() => a.socket.disconnect(), 0);
  };
  a.socket.onAnyOutgoing(cut);
  const m = await a.sendMessage(conv, 'answer lost');
  expect(pushes.filter((ids) => ids.includes(m.id))).toEqual([[m.id]]);
  await dropped;
  a.socket.connect();
  await until(b.messages$(conv, 10), (ms) => ms.filter((x) => x.id === m.id).length === 1, 'Bob has it, once');
  await until(a.connection$, (s) => s.status === 'online' && s.pendingWrites === 0, 'nothing pending');
  const mine = (await until(a.messages$(conv, 10), () => true, 'read')).find((x) => x.id === m.id);
  // Sent, or further along by now (Bob's replica reports it delivered).
  expect(['sent', 'delivered', 'read']).toContain(mine?.status);
  expect(mine?.failure).toBeNull();
  expect(mine!.seq).toBeGreaterThan(0);
});

test('with send-ahead off, the same message goes out through RxDB only, after its local write', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice, { tuning: { sendAhead: false } });
  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'hello');
  await until(a.connection$, (s) => s.status === 'online' && s.pendingWrites === 0, 'nothing pending');
  const pushes = outgoingMessagePushes(a);
  const m = await a.sendMessage(conv, 'through RxDB');
  expect(pushes).toHaveLength(0);
  await until(a.messages$(conv, 10), (ms) => (ms.find((x) => x.id === m.id)?.seq ?? 0) > 0, 'stored on the server');
  expect(pushes.flat().filter((id) => id === m.id)).toHaveLength(1);
});
