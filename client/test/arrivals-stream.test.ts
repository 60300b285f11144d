import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { waitFor } from '../../sync-server/test/support/test-server';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

/** Alice and Bob on one device each, with a conversation Alice started. */
async function aliceAndBob() {
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, makeUser('Alice'));
  const b = await openDevice(server.url, bob);
  return { a, b, conv: await a.createConversation(bob.id) };
}

test('a streamed message shows in the open conversation before the replica stores it, then as stored and readable', async () => {
  const { a, b, conv } = await aliceAndBob();
  const first = await a.sendMessage(conv, 'hello');
  await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.id === first.id && !m.arriving), 'Bob stored the first message');
  const engine = await b.whenLeader();

  // Bob's replica stores nothing streamed while this is held.
  const release = engine.messages.streamBuffer.block();
  const m = await a.sendMessage(conv, 'on its way');
  const shown = await until(b.messages$(conv, 10), (ms) => ms.some((x) => x.id === m.id), 'Bob sees it');
  expect(shown.map((x) => x.id)).toEqual([first.id, m.id]);
  expect(shown[1]).toMatchObject({ content: 'on its way', mine: false, isRead: false, arriving: true });
  expect(await b.database.messages.findOne(m.id).exec()).toBeNull();
  // Nothing writes it before the replica has it: reading the conversation writes nothing for it.
  await b.markConversationRead(conv);
  expect(await b.database.messages.findOne(m.id).exec()).toBeNull();

  release();
  const stored = await until(b.messages$(conv, 10), (ms) => ms.some((x) => x.id === m.id && !x.arriving), 'stored');
  expect(stored.filter((x) => x.id === m.id)).toHaveLength(1);
  await b.markConversationRead(conv);
  await until(a.messages$(conv, 10), (ms) => ms.find((x) => x.id === m.id)?.status === 'read', 'Alice sees it read');
});

test("a window that is full shows only what it would show once stored: an older message's edit stays out", async () => {
  const { a, b, conv } = await aliceAndBob();
  const oldest = await a.sendMessage(conv, 'one');
  await a.sendMessage(conv, 'two');
  await a.sendMessage(conv, 'three');
  await until(b.messages$(conv, 10), (ms) => ms.filter((x) => x.seq > 0 && !x.arriving).length === 3, 'Bob stored three');
  const engine = await b.whenLeader();
  const windows: string[][] = [];
  const sub = b.messages$(conv, 2).subscribe((ms) => windows.push(ms.map((x) => x.content)));

  const release = engine.messages.streamBuffer.block();
  await a.editMessage(oldest.id, 'one, edited');
  const later = await a.sendMessage(conv, 'four');
  await until(b.messages$(conv, 2), (ms) => ms.some((x) => x.id === later.id), 'the new message arrives');
  release();
  await until(b.messages$(conv, 10), (ms) => ms.find((x) => x.id === oldest.id)?.content === 'one, edited', 'the edit is stored');
  sub.unsubscribe();
  expect(windows.flat()).not.toContain('one, edited');
  expect(windows.at(-1)).toEqual(['three', 'four']);
});

test('the sender sees a new message while it is being written, and once stored only the stored one', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice);
  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'first');
  const seen: { id: string; arriving: boolean; status: string }[][] = [];
  const sub = a
    .messages$(conv, 10)
    .subscribe((ms) => seen.push(ms.map((m) => ({ id: m.id, arriving: m.arriving === true, status: m.status }))));
  const m = await a.sendMessage(conv, 'second');
  await until(a.messages$(conv, 10), (ms) => ms.some((x) => x.id === m.id && !x.arriving && x.seq > 0), 'stored and sent');
  sub.unsubscribe();
  const first = seen.findIndex((views) => views.some((v) => v.id === m.id));
  // Shown first as arriving (before the insert ended), pending until the server answered.
  expect(seen[first]?.find((v) => v.id === m.id)).toEqual({ id: m.id, arriving: true, status: 'pending' });
  expect(seen.at(-1)?.filter((v) => v.id === m.id)).toEqual([
    { id: m.id, arriving: false, status: expect.stringMatching(/sent|delivered|read/) },
  ]);
});

test("another tab of the replica shows what the leader's stream brought, before the leader stored it", async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice);
  const tab = { multiInstance: true, ignoreDuplicate: true, databaseName: `arrivals-tabs-${bob.id}` };
  const leader = await openDevice(server.url, bob, tab);
  const engine = await leader.whenLeader();
  const follower = await openDevice(server.url, bob, tab);
  const conv = await a.createConversation(bob.id);
  const first = await a.sendMessage(conv, 'hello');
  await until(follower.messages$(conv, 10), (ms) => ms.some((m) => m.id === first.id && !m.arriving), 'the follower has the first message');
  // The leader's replication idle too: a pull still under way would store the next message itself.
  const internal = engine.messages.state.internalReplicationState!;
  await waitFor(() => engine.messages.streamBuffer.settled && !internal.events.active.down.getValue(), "the leader's replication idle");

  const release = engine.messages.streamBuffer.block();
  const m = await a.sendMessage(conv, 'to both tabs');
  const shown = await until(follower.messages$(conv, 10), (ms) => ms.some((x) => x.id === m.id), 'the follower sees it');
  expect(shown.find((x) => x.id === m.id)).toMatchObject({ content: 'to both tabs', arriving: true });
  expect(await follower.database.messages.findOne(m.id).exec()).toBeNull();
  release();
  await until(follower.messages$(conv, 10), (ms) => ms.some((x) => x.id === m.id && !x.arriving), 'stored, seen from the follower');
});

test('a message discarded right after it was written does not come back as an arrival', async () => {
  const { a, conv } = await aliceAndBob();
  a.socket.disconnect();
  const windows: { ids: string[]; at: number }[] = [];
  const sub = a.messages$(conv, 10).subscribe((ms) => windows.push({ ids: ms.map((x) => x.id), at: performance.now() }));
  const m = await a.sendMessage(conv, 'never mind');
  await until(a.messages$(conv, 10), (ms) => ms.some((x) => x.id === m.id && !x.arriving), 'stored locally');
  const discarded = performance.now();
  await a.discardMessage(m.id);
  // Longer than an arrival stays after the replica stored it.
  await new Promise((r) => setTimeout(r, 1_500));
  sub.unsubscribe();
  const later = windows.filter((w) => w.at >= discarded);
  expect(later.length).toBeGreaterThan(0);
  expect(later.filter((w) => w.ids.includes(m.id))).toEqual([]);
});
