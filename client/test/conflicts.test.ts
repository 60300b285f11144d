import { type MessageDoc, mergeMessage, type Wire } from '@fetchwork/shared-schema';
import type { RxConflictHandlerInput } from 'rxdb';
import { concatMap, filter, firstValueFrom, timer } from 'rxjs';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { InboxHandle } from '../src/inbox/create-inbox';
import type { MessageStatus } from '../src/inbox-api';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { serverMessages } from './support/replica';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

const messageOn = (
  inbox: InboxHandle,
  conv: string,
  id: string,
  check: (m: MessageDoc & { status: MessageStatus }) => boolean,
  what: string,
) => until(inbox.messages$(conv, 50), (ms) => ms.some((m) => m.id === id && check(m)), what).then((ms) => ms.find((m) => m.id === id)!);

test('concurrent edits from two devices and a read by the recipient merge as the shared conflict handler says', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const [a1, a2, b1] = await Promise.all([openDevice(server.url, alice), openDevice(server.url, alice), openDevice(server.url, bob)]);
  const conv = await a1.createConversation(bob.id);
  const m = await a1.sendMessage(conv, 'original');
  for (const d of [a1, a2]) await messageOn(d, conv, m.id, (x) => x.status === 'delivered', 'delivered');

  a1.socket.disconnect();
  a2.socket.disconnect();
  await b1.markRead([m.id]);
  await a1.editMessage(m.id, 'edit from A1');
  await a2.editMessage(m.id, 'edit from A2, made later');

  const a2Engine = await a2.whenLeader();
  const a2Conflict = firstValueFrom(
    a2Engine.messages.state.conflict$.pipe(filter((c) => (c.input.newDocumentState as MessageDoc).id === m.id)),
  );
  a1.reconnect();
  await until(b1.messages$(conv, 10), (ms) => ms[0]?.content === 'edit from A1', 'A1 edit reaches B1');
  // B1's read may still be on its way (its push meets A1's edit and is merged and pushed again):
  // A2 comes back once the server holds both, so its conflict is against that state.
  await until(
    timer(0, 25).pipe(concatMap(() => serverMessages(server, alice.id))),
    ([s]) => s?.content === 'edit from A1' && s.isRead,
    'A1 edit and B1 read on the server',
  );
  a2.reconnect();
  const { input, output } = await a2Conflict;
  const expected = mergeMessage(
    (input as RxConflictHandlerInput<MessageDoc>).realMasterState as Wire<MessageDoc>,
    input.newDocumentState as Wire<MessageDoc>,
  );
  expect(output.content).toBe(expected.content);
  // A1's edit reached the server after A2's was made, so it is the later edit and wins.
  expect(expected.content).toBe('edit from A1');
  expect(expected.isRead).toBe(true);

  for (const d of [a1, a2, b1]) {
    await messageOn(d, conv, m.id, (x) => x.content === 'edit from A1' && x.isEdited && x.isRead, `${d.user.name} converged`);
  }
  const [stored] = await serverMessages(server, alice.id);
  expect(stored).toMatchObject({ content: 'edit from A1', isRead: true, isEdited: true });

  // An edit made after that one was stored is later still, so it wins in its turn.
  a2.socket.disconnect();
  await a2.editMessage(m.id, 'a later edit from A2');
  a2.reconnect();
  for (const d of [a1, a2, b1]) {
    await messageOn(d, conv, m.id, (x) => x.content === 'a later edit from A2' && x.isRead, `${d.user.name} has the later edit`);
  }
});

test('delivered and read never go back, whatever stale replicas push', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const [a1, a2, b1, b2] = await Promise.all([
    openDevice(server.url, alice),
    openDevice(server.url, alice),
    openDevice(server.url, bob),
    openDevice(server.url, bob),
  ]);
  const conv = await a1.createConversation(bob.id);
  const order: MessageStatus[] = ['pending', 'sent', 'delivered', 'read'];
  const seen: MessageStatus[] = [];
  const m = await a1.sendMessage(conv, 'track me');
  const sub = a1.messages$(conv, 10).subscribe((ms) => {
    const s = ms.find((x) => x.id === m.id)?.status;
    if (s && s !== seen[seen.length - 1]) seen.push(s);
  });
  await messageOn(a2, conv, m.id, (x) => x.status === 'delivered', 'A2 sees delivered');
  await messageOn(b2, conv, m.id, (x) => x.status === 'delivered', 'B2 has it delivered');

  // Stale copies: A2 and B2 go offline holding "delivered, unread".
  a2.socket.disconnect();
  b2.socket.disconnect();
  await b1.markRead([m.id]);
  await messageOn(a1, conv, m.id, (x) => x.status === 'read', 'A1 sees read');

  // A2 edits its stale copy; B2 writes "unread" straight into its replica, as a buggy client might.
  await a2.editMessage(m.id, 'track me (edited)');
  await (await b2.database.messages.findOne(m.id).exec())!.incrementalPatch({ isRead: false, readAt: null });
  a2.reconnect();
  b2.reconnect();

  for (const d of [a1, a2, b1, b2]) {
    await messageOn(d, conv, m.id, (x) => x.status === 'read' && x.content === 'track me (edited)', `${d.user.name} read + edited`);
  }
  const [stored] = await serverMessages(server, alice.id);
  expect(stored).toMatchObject({ isRead: true, content: 'track me (edited)' });
  expect(stored!.deliveredAt).not.toBeNull();
  sub.unsubscribe();
  const ranks = seen.map((s) => order.indexOf(s));
  expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
  expect(seen[seen.length - 1]).toBe('read');
});

test('a second edit made right after the first one was pushed (before its echo) is not lost', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const [a, b] = await Promise.all([openDevice(server.url, alice), openDevice(server.url, bob)]);
  const conv = await a.createConversation(bob.id);
  const m = await a.sendMessage(conv, 'v0');
  await messageOn(a, conv, m.id, (x) => x.status === 'delivered', 'delivered');
  const engine = await a.whenLeader();

  let second: Promise<void> | null = null;
  const sub = engine.messages.state.sent$.subscribe((doc) => {
    // Runs while RxDB still holds the stream echo of edit 1 back (the push is not finished).
    if (doc.id === m.id && doc.content === 'edit 1' && !second) second = a.editMessage(m.id, 'edit 2');
  });
  await a.editMessage(m.id, 'edit 1');
  await until(engine.messages.state.sent$, (doc) => doc.id === m.id && doc.content === 'edit 2', 'edit 2 pushed');
  await second;
  sub.unsubscribe();
  for (const d of [a, b]) await messageOn(d, conv, m.id, (x) => x.content === 'edit 2' && x.seq > 0, `${d.user.name} has edit 2`);
  const [stored] = await serverMessages(server, alice.id);
  expect(stored!.content).toBe('edit 2');
  await until(a.connection$, (s) => s.status === 'online', 'nothing pending');
});
