import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

/**
 * Two RxDatabase instances of one name in one process, each with its own BroadcastChannel
 * (RxDB keys channels by instance token) and its own socket: two tabs of one browser. In Node
 * broadcast-channel uses its file-system method; the browser suite proves the same with
 * real tabs.
 */
test('two tabs share one replica, only the leader replicates, and leadership hands over when it closes', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const syncEvents = new Map<string, number>();
  server.current.io.on('connection', (s) =>
    s.onAny((event: string) => {
      if (event.startsWith('sync:')) syncEvents.set(s.id, (syncEvents.get(s.id) ?? 0) + 1);
    }),
  );
  const tab = { multiInstance: true, ignoreDuplicate: true, databaseName: `tabs-${alice.id}` };
  const t1 = await openDevice(server.url, alice, tab);
  await t1.whenLeader();
  const t2 = await openDevice(server.url, alice, tab);
  const b = await openDevice(server.url, bob);
  await until(t2.connection$, (s) => s.status === 'online', 't2 connected');

  const conv = await t2.createConversation(bob.id);
  const fromFollower = await t2.sendMessage(conv, 'typed in the follower tab');
  await until(t1.messages$(conv, 10), (ms) => ms.some((m) => m.id === fromFollower.id), 'the leader tab sees it');
  await until(b.messages$(conv, 10), (ms) => ms.length === 1, 'B receives it');
  await until(t2.messages$(conv, 10), (ms) => ms[0]?.status === 'delivered', 'the follower sees the receipt');
  expect(await until(t2.isLeader$, () => true, 'leader flag')).toBe(false);
  expect(t2.sync()).toBeNull();
  expect(syncEvents.get(t1.socket.id!) ?? 0).toBeGreaterThan(0);
  expect(syncEvents.get(t2.socket.id!) ?? 0).toBe(0);

  await t1.close();
  await until(t2.isLeader$, (l) => l, 't2 takes over', 20_000);
  await b.sendMessage(conv, 'after the handover');
  await until(t2.messages$(conv, 10), (ms) => ms.length === 2, 't2 receives as the new leader');
  const second = await t2.sendMessage(conv, 'sent by the new leader');
  await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.id === second.id && m.status === 'delivered'), 'B receives it');
  expect(syncEvents.get(t2.socket.id!) ?? 0).toBeGreaterThan(0);
});

/**
 * A frozen page runs no code: as leader it would keep the election and nobody would replicate.
 * Node cannot freeze a process's "tab", so the page's `freeze` / `resume` events are dispatched
 * by hand; the browser suite freezes a real page.
 */
test('a leader tab that freezes hands over at once, and stands again when it resumes', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const syncEvents = new Map<string, number>();
  server.current.io.on('connection', (s) =>
    s.onAny((event: string) => {
      if (event.startsWith('sync:')) syncEvents.set(s.id, (syncEvents.get(s.id) ?? 0) + 1);
    }),
  );
  const tab = { multiInstance: true, ignoreDuplicate: true, databaseName: `freeze-${alice.id}` };
  const page1 = new EventTarget();
  const t1 = await openDevice(server.url, alice, { ...tab, lifecycle: page1 });
  await t1.whenLeader();
  const t2 = await openDevice(server.url, alice, { ...tab, lifecycle: new EventTarget() });
  const b = await openDevice(server.url, bob);
  const conv = await t2.createConversation(bob.id);
  await t2.sendMessage(conv, 'before the freeze');
  await until(b.messages$(conv, 10), (ms) => ms.length === 1, 'B receives it through t1');
  expect(await until(t2.isLeader$, () => true, 'leader flag')).toBe(false);

  page1.dispatchEvent(new Event('freeze'));
  expect(t1.sync()).toBeNull();
  expect(await until(t1.isLeader$, () => true, 'leader flag')).toBe(false);
  await until(t2.isLeader$, (l) => l, 't2 takes over', 20_000);
  const t1Sync = syncEvents.get(t1.socket.id!) ?? 0;

  await b.sendMessage(conv, 'while t1 is frozen');
  await until(t2.messages$(conv, 10), (ms) => ms.length === 2, 't2 receives as the new leader');
  const fromT2 = await t2.sendMessage(conv, 'sent while t1 is frozen');
  await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.id === fromT2.id), 'B receives it through t2');
  expect(syncEvents.get(t1.socket.id!) ?? 0).toBe(t1Sync);

  // Resumed, t1 is a candidate again: it does not take the role back, but it is next in line.
  page1.dispatchEvent(new Event('resume'));
  await new Promise((r) => setTimeout(r, 1000));
  expect(await until(t1.isLeader$, () => true, 'leader flag')).toBe(false);
  expect(t1.sync()).toBeNull();
  await t2.close();
  await until(t1.isLeader$, (l) => l, 't1 leads again', 20_000);
  await b.sendMessage(conv, 'after t1 resumed');
  await until(t1.messages$(conv, 10), (ms) => ms.length === 4, 't1 replicates again');
});
