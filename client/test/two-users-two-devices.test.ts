import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../../sync-server/test/support/test-server';
import type { InboxHandle } from '../src/inbox/create-inbox';
import { closeAllDevices, makeUser, openDevice, type TestUser, until } from './support/devices';
import { countBy, replicaMessages, serverMessages } from './support/replica';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

interface World {
  alice: TestUser;
  bob: TestUser;
  a1: InboxHandle;
  a2: InboxHandle;
  b1: InboxHandle;
  b2: InboxHandle;
}

async function world(): Promise<World> {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const [a1, a2, b1, b2] = await Promise.all([
    openDevice(server.url, alice),
    openDevice(server.url, alice),
    openDevice(server.url, bob),
    openDevice(server.url, bob),
  ]);
  return { alice, bob, a1, a2, b1, b2 };
}

/** Each text appears exactly once on the device, and nothing else is there. */
async function expectExactlyOnce(inbox: InboxHandle, texts: readonly string[]) {
  const messages = await replicaMessages(inbox);
  const counts = countBy(messages, (m) => m.content);
  for (const t of texts) expect(counts.get(t), `${inbox.user.name}: "${t}"`).toBe(1);
  expect(messages).toHaveLength(texts.length);
}

async function allHave(devices: readonly InboxHandle[], conversationId: string, n: number, status?: (s: string, mine: boolean) => boolean) {
  for (const d of devices) {
    await until(
      d.messages$(conversationId, 100),
      // Stored, not only shown as it arrives (arrivals.ts).
      (ms) => ms.length === n && ms.every((m) => !m.arriving) && (!status || ms.every((m) => status(m.status, m.mine))),
      `${d.user.name} has ${n} messages`,
    );
  }
}

describe('two users, two devices each', () => {
  test('messages, receipts and unread counts reach all four devices exactly once', async () => {
    const { bob, a1, a2, b1, b2 } = await world();
    const conv = await a1.createConversation(bob.id, null, 'Bob');
    await a1.sendMessage(conv, 'hi bob');
    await a1.sendMessage(conv, 'are you there?');
    await allHave([a1, a2, b1, b2], conv, 2, (s) => s === 'delivered');

    const bConvs = await until(b2.conversations$(), (cs) => cs.length === 1 && cs[0]!.unread === 2, 'unread 2 on B2');
    expect(bConvs[0]!.otherUserName).toBe('Alice');
    expect(bConvs[0]!.lastMessageView?.content).toBe('are you there?');
    await until(b1.totalUnread$(), (n) => n === 2, 'total unread 2 on B1');

    await b1.markConversationRead(conv);
    await until(b2.totalUnread$(), (n) => n === 0, 'B2 sees the messages read');
    await allHave([a1, a2], conv, 2, (s) => s === 'read');

    const reply = await b2.sendMessage(conv, 'yes!');
    await allHave([a1, a2, b1, b2], conv, 3);
    await until(a2.conversations$(), (cs) => cs[0]?.unread === 1 && cs[0].lastMessageView?.id === reply.id, 'A2 unread reply on top');
    for (const d of [a1, a2, b1, b2]) await expectExactlyOnce(d, ['hi bob', 'are you there?', 'yes!']);
    expect(await serverMessages(server, bob.id)).toHaveLength(3);
  });

  test('a write made offline is delivered exactly once everywhere after the reconnect', async () => {
    const { alice, bob, a1, a2, b1, b2 } = await world();
    const conv = await a1.createConversation(bob.id);
    await a1.sendMessage(conv, 'before');
    await allHave([a1, a2, b1, b2], conv, 1, (s) => s === 'delivered');

    // What happened while away arrives on reconnect, with nothing else written afterwards.
    b2.socket.disconnect();
    await until(b2.connection$, (s) => s.status === 'offline', 'B2 offline');
    await a1.sendMessage(conv, 'sent while B2 is away');
    await allHave([a1, a2, b1], conv, 2, (s) => s === 'delivered');
    b2.reconnect();
    await allHave([b2], conv, 2);

    b2.socket.disconnect();
    await until(b2.connection$, (s) => s.status === 'offline', 'B2 offline again');
    const offline = await b2.sendMessage(conv, 'written offline');
    expect(offline.status).toBe('pending');
    await until(b2.connection$, (s) => s.status === 'offline' && s.pendingWrites === 1, 'B2 counts its unsent write');
    b2.reconnect();
    await allHave([a1, a2, b1, b2], conv, 3);
    await until(b2.messages$(conv, 10), (ms) => ms.find((m) => m.id === offline.id)?.status === 'delivered', 'B2 reply delivered');
    await until(b2.connection$, (s) => s.status === 'online', 'B2 online, nothing pending');
    const texts = ['before', 'written offline', 'sent while B2 is away'];
    for (const d of [a1, a2, b1, b2]) await expectExactlyOnce(d, texts);
    const stored = await serverMessages(server, alice.id);
    expect([...countBy(stored, (m) => m.content).values()]).toEqual([1, 1, 1]);
  });

  test('the server going away and coming back loses and duplicates nothing', async () => {
    const { bob, a1, a2, b1, b2 } = await world();
    const conv = await a1.createConversation(bob.id);
    await a1.sendMessage(conv, 'one');
    await allHave([a1, a2, b1, b2], conv, 1, (s) => s === 'delivered');

    await server.stop();
    await until(a1.connection$, (s) => s.status === 'offline' || s.status === 'connecting', 'A1 notices');
    await a1.sendMessage(conv, 'two (offline)');
    await b1.sendMessage(conv, 'three (offline)');
    await a1.editMessage((await replicaMessages(a1)).find((m) => m.content === 'one')!.id, 'one (edited offline)');
    await until(b1.connection$, (s) => s.status !== 'online' && s.pendingWrites === 1, 'B1 shows 1 pending');

    await server.start();
    await allHave([a1, a2, b1, b2], conv, 3, (s) => s === 'delivered' || s === 'read');
    const texts = ['one (edited offline)', 'two (offline)', 'three (offline)'];
    for (const d of [a1, a2, b1, b2]) {
      await waitFor(async () => countBy(await replicaMessages(d), (m) => m.content).get('one (edited offline)') === 1, 'edit everywhere');
      await expectExactlyOnce(d, texts);
    }
  });

  test('both users create the same conversation offline and converge on one', async () => {
    const { alice, bob, a1, a2, b1, b2 } = await world();
    a1.socket.disconnect();
    b1.socket.disconnect();
    const fromA = await a1.createConversation(bob.id, 'job42');
    const fromB = await b1.createConversation(alice.id, 'job42');
    expect(fromA).toBe(fromB);
    await a1.sendMessage(fromA, 'from alice');
    await b1.sendMessage(fromB, 'from bob');
    a1.reconnect();
    await allHave([a1, a2, b2], fromA, 1);
    b1.reconnect();
    await allHave([a1, a2, b1, b2], fromA, 2, (s) => s === 'delivered');
    for (const d of [a1, a2, b1, b2]) {
      const convs = await until(
        d.conversations$(),
        (cs) => cs.length === 1 && cs[0]!.seq > 0 && Object.keys(cs[0]!.participantNames).length === 2,
        `${d.user.name} holds the server's conversation`,
      );
      expect(convs[0]!.job).toBe('job42');
    }
  });
});
