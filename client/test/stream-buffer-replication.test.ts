import type { MessageDoc, StreamEvent } from '@fetchwork/shared-schema';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { InboxHandle } from '../src/inbox/create-inbox';
import type { SyncEngine } from '../src/sync/sync-engine';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { countBy, replicaMessages, serverMessages } from './support/replica';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

type Ack = (...args: unknown[]) => void;

/**
 * Watches a device's socket: counts its `sync:pull` requests for messages, remembers the
 * message contents streamed to it, and can hold the answer of its next messages pull.
 */
function watchSocket(inbox: InboxHandle) {
  const socket = inbox.socket as unknown as { emit(event: string, ...args: unknown[]): unknown };
  const original = socket.emit.bind(socket);
  const seen = { pulls: 0, resyncSignals: 0, streamed: new Set<string>() };
  let holdNextPull: ((release: () => void) => void) | null = null;
  socket.emit = (event: string, ...args: unknown[]) => {
    const payload = args[0] as { collection?: string } | undefined;
    if (event === 'sync:pull' && payload?.collection === 'messages') {
      seen.pulls++;
      const hold = holdNextPull;
      const ack = args[1] as Ack | undefined;
      if (hold && typeof ack === 'function') {
        holdNextPull = null;
        return original(event, payload, (...answer: unknown[]) => hold(() => ack(...answer)));
      }
    }
    return original(event, ...args);
  };
  inbox.socket.on('sync:stream', (event: StreamEvent) => {
    if (event.collection !== 'messages') return;
    if ('resync' in event) {
      seen.resyncSignals++;
      return;
    }
    for (const d of event.documents as unknown as MessageDoc[]) seen.streamed.add(d.content);
  });
  return {
    seen,
    /** The next messages pull's answer is kept until the returned function is called (once it arrived). */
    holdNextPullAnswer(): { arrived: Promise<() => void> } {
      return {
        arrived: new Promise((resolve) => {
          holdNextPull = resolve;
        }),
      };
    },
  };
}

/** Holds RxDB's write of a streamed document with this content into the replica until released. */
function holdStoreOf(engine: SyncEngine, content: string) {
  const fork = engine.messages.state.internalReplicationState!.input.forkInstance as unknown as {
    bulkWrite(rows: { document: { content?: string } }[], context: string): Promise<unknown>;
  };
  const original = fork.bulkWrite.bind(fork);
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let hit!: () => void;
  const reached = new Promise<void>((r) => {
    hit = r;
  });
  fork.bulkWrite = async (rows, context) => {
    if (rows.some((r) => r.document.content === content)) {
      hit();
      await released;
    }
    return original(rows, context);
  };
  return { reached, release };
}

const waitUntil = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 1500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

async function expectOnce(inbox: InboxHandle, texts: readonly string[]) {
  const counts = countBy(await replicaMessages(inbox), (m) => m.content);
  for (const t of texts) expect(counts.get(t), `${inbox.user.name}: "${t}"`).toBe(1);
}

test('a burst streamed while the replica is storing is applied in order once it is idle, without a pull', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice);
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'before');
  await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.content === 'before'), 'bob has the first message');
  const engine = await b.whenLeader();
  const buffer = engine.messages.streamBuffer;
  // Whatever the start asked for (the resync of the connection) is done.
  await waitUntil(() => buffer.settled && !engine.messages.state.internalReplicationState!.events.active.down.getValue(), 'bob settled');
  const watch = watchSocket(b);
  const resyncsBefore = buffer.counts.resyncs;

  // Bob's replica is busy storing the first message of the burst while the rest arrives.
  const gate = holdStoreOf(engine, 'burst 1');
  await a.sendMessage(conv, 'burst 1');
  await gate.reached;
  const burst = ['burst 2', 'burst 3', 'burst 4', 'burst 5'];
  for (const text of burst) await a.sendMessage(conv, text);
  await waitUntil(() => burst.every((t) => watch.seen.streamed.has(t)), 'the burst streamed to bob');
  expect(buffer.pending).toBeGreaterThan(0);
  gate.release();

  const all = ['before', 'burst 1', ...burst];
  await until(b.messages$(conv, 20), (ms) => all.every((t) => ms.some((m) => m.content === t && !m.arriving)), 'bob has the burst');
  await until(engine.active$(), (active) => !active, 'bob idle again');
  expect(watch.seen.pulls).toBe(0);
  expect(buffer.counts.resyncs).toBe(resyncsBefore);
  await expectOnce(b, all);
  const onServer = await serverMessages(server, bob.id);
  expect(onServer.filter((m) => all.includes(m.content))).toHaveLength(all.length);
});

test('a batch the pull answer does not cover is a gap: the replica pulls and loses nothing', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice);
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'before');
  await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.content === 'before'), 'bob has the first message');
  const engine = await b.whenLeader();
  await until(engine.active$(), (active) => !active, 'bob idle');
  const watch = watchSocket(b);
  const buffer = engine.messages.streamBuffer;

  // Bob is away while two messages are sent; when he is back, his pull's answer is slow.
  b.socket.disconnect();
  await a.sendMessage(conv, 'while away 1');
  await a.sendMessage(conv, 'while away 2');
  await until(a.messages$(conv, 10), (ms) => ms.length === 3 && ms.every((m) => m.status !== 'pending'), 'on the server');
  const held = watch.holdNextPullAnswer();
  b.reconnect();
  const release = await held.arrived;
  const resyncsBefore = buffer.counts.resyncs;
  const pullsBefore = watch.seen.pulls;
  // The server answered (and moved Bob's cursor) before this commit, so it streams it to Bob,
  // who has not seen that answer yet.
  await a.sendMessage(conv, 'after the answer');
  await waitUntil(() => watch.seen.streamed.has('after the answer'), 'the new message streamed to bob');
  release();

  const all = ['before', 'while away 1', 'while away 2', 'after the answer'];
  await until(b.messages$(conv, 20), (ms) => all.every((t) => ms.some((m) => m.content === t && !m.arriving)), 'bob has every message');
  // The batch did not continue from the answer's position: a pull after the held one.
  expect(buffer.counts.resyncs).toBeGreaterThan(resyncsBefore);
  expect(watch.seen.pulls).toBeGreaterThan(pullsBefore);
  await expectOnce(b, all);
});
