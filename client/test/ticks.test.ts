import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

test('a message read within the grace period is not also reported delivered; one left unread is, once', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  // A grace far longer than the read takes even on a loaded machine: the outcome, not the timing, is under test.
  const [a, b] = await Promise.all([openDevice(server.url, alice), openDevice(server.url, bob, { tuning: { deliveryGraceMs: 3000 } })]);
  const conv = await a.createConversation(bob.id);
  const delivered: string[][] = [];
  b.socket.onAnyOutgoing((event: string, payload: { ids?: string[] }) => {
    if (event === 'messages:delivered') delivered.push(payload.ids ?? []);
  });

  // Bob has the conversation open: what arrives unread is marked read, as the message pane does.
  let paneOpen = true;
  const pane = b.messages$(conv, 50).subscribe((ms) => {
    if (paneOpen && ms.some((m) => !m.mine && !m.isRead && !m.arriving)) void b.markConversationRead(conv);
  });
  const first = await a.sendMessage(conv, 'read at once');
  await until(a.messages$(conv, 50), (ms) => ms.find((m) => m.id === first.id)?.status === 'read', 'Alice sees it read');
  expect(delivered.flat()).not.toContain(first.id);

  // Pane closed: the message is only delivered, and reported so once.
  paneOpen = false;
  pane.unsubscribe();
  const second = await a.sendMessage(conv, 'left unread');
  await until(a.messages$(conv, 50), (ms) => ms.find((m) => m.id === second.id)?.status === 'delivered', 'Alice sees it delivered');
  expect(delivered.flat().filter((id) => id === second.id)).toHaveLength(1);
  expect(delivered.flat()).not.toContain(first.id);
});

test('a message shows sent when the server acknowledges it, before the server copy is stored', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice);
  const conv = await a.createConversation(bob.id);
  await a.whenLeader();
  const firstSent = until(a.messages$(conv, 50), (ms) => ms.some((m) => m.status === 'sent'), 'sent');
  const message = await a.sendMessage(conv, 'hello');
  const shown = (await firstSent).find((m) => m.id === message.id)!;
  // The tick came from the acknowledgement: the replica still held its own copy (seq 0).
  expect(shown.seq).toBe(0);
  const stored = await until(a.messages$(conv, 50), (ms) => ms.some((m) => m.id === message.id && m.seq > 0), 'the server copy');
  expect(stored.find((m) => m.id === message.id)?.status).toBe('sent');
});

/**
 * Bob offline while Alice sends him a backlog (as many as the backlog threshold: one pull after
 * the reconnect brings them all), with a delivery grace longer than a test may take: only the
 * backlog rule and a reconnect can report these in time.
 */
async function backlogWhileOffline() {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const [a, b] = await Promise.all([openDevice(server.url, alice), openDevice(server.url, bob, { tuning: { deliveryGraceMs: 600_000 } })]);
  const conv = await a.createConversation(bob.id);
  await until(b.conversations$(), (cs) => cs.length === 1, 'Bob has the conversation');
  b.socket.disconnect();
  for (let i = 0; i < 20; i++) await a.sendMessage(conv, `missed ${i}`);
  const allDelivered = () =>
    until(a.messages$(conv, 50), (ms) => ms.length === 20 && ms.every((m) => m.status === 'delivered'), 'Alice sees all 20 delivered');
  return { b, conv, allDelivered };
}

test('a backlog (a reconnect catch-up) is reported delivered without waiting the grace', async () => {
  const { b, allDelivered } = await backlogWhileOffline();
  b.reconnect();
  expect(await allDelivered()).toHaveLength(20);
});

test('a delivery report lost with the connection goes out again on the reconnect', async () => {
  const { b, conv, allDelivered } = await backlogWhileOffline();
  // The connection drops as the first report is emitted (listeners run before the packet is
  // written): the server never sees it, and its request fails.
  let dropped = false;
  b.socket.onAnyOutgoing((event: string) => {
    if (event === 'messages:delivered' && !dropped) {
      dropped = true;
      b.socket.io.engine.close();
    }
  });
  b.reconnect();
  await until(b.messages$(conv, 50), (ms) => ms.length === 20, 'Bob stores the 20');
  await until(b.connection$, (c) => c.status === 'online', 'Bob online again');
  const seen = await allDelivered();
  expect(dropped).toBe(true);
  expect(seen).toHaveLength(20);
});
