import { fallbackParticipantName } from '@fetchwork/shared-schema';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { api, newUserId, tokenFor } from '../../sync-server/test/support/test-server';
import { contactName } from '../src/ui/participant-name';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { replicaMessages, serverMessages } from './support/replica';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

const seqs = (messages: { id: string; seq: number }[]) => Object.fromEntries(messages.map((m) => [m.id, m.seq]));

describe('participant names on the devices', () => {
  test("a contact who only uses REST gets a real name, and a rename reaches both of Alice's devices without touching a message", async () => {
    const alice = makeUser('Alice');
    const bobId = newUserId();
    const [a1, a2] = await Promise.all([openDevice(server.url, alice), openDevice(server.url, alice)]);

    // Alice's proposal for Bob's name is hers alone: the server's copy names him by the fallback.
    const conv = await a1.createConversation(bobId, null, 'Whatever Alice Typed');
    await a1.sendMessage(conv, 'hello');
    await a1.sendMessage(conv, 'are you there?');
    const unknown = await until(
      a2.conversations$(),
      (cs) => cs[0]?.seq !== undefined && cs[0].seq > 0 && cs[0].participantNames[bobId] !== undefined,
      'the conversation on A2',
    );
    expect(contactName(unknown[0]!)).toBe(fallbackParticipantName(bobId));
    expect(unknown[0]!.participantNames[alice.id]).toBe('Alice');
    await until(a2.messages$(conv, 10), (ms) => ms.length === 2 && ms.every((m) => m.seq > 0), 'both messages on A2');

    // Bob, never connected, answers over REST with FetchWork's token: his name arrives everywhere.
    const reply = await api(
      { url: server.url },
      'POST',
      `/api/messages/conversations/${encodeURIComponent(conv)}/messages`,
      tokenFor(bobId, { name: 'Bob Builder' }),
      {
        content: 'here',
      },
    );
    expect(reply.status).toBe(201);
    for (const device of [a1, a2]) {
      const cs = await until(
        device.conversations$(),
        (list) => list[0]?.participantNames[bobId] === 'Bob Builder',
        'Bob named on a device',
      );
      expect(contactName(cs[0]!)).toBe('Bob Builder');
      await until(device.messages$(conv, 10), (ms) => ms.length === 3, 'the reply on a device');
    }
    // Receipts (delivered, read) of the reply still move its sequence: wait until both devices
    // hold what the server holds, then no message may change again.
    const settled = async () => {
      // Every message to Alice carries its delivery receipt (the last receipt that can move one).
      const stored = await serverMessages(server, alice.id);
      if (stored.some((m) => m.recipient === alice.id && !m.deliveredAt)) return null;
      const snapshot = {
        a1: seqs(await replicaMessages(a1)),
        a2: seqs(await replicaMessages(a2)),
        server: seqs(await serverMessages(server, alice.id)),
      };
      const same =
        JSON.stringify(snapshot.a1) === JSON.stringify(snapshot.server) && JSON.stringify(snapshot.a2) === JSON.stringify(snapshot.server);
      return same ? snapshot : null;
    };
    let beforeRename = await settled();
    for (let i = 0; !beforeRename && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      beforeRename = await settled();
    }
    expect(beforeRename).not.toBeNull();

    // His next token carries a new name: the conversation changes on both devices, live.
    await api(
      { url: server.url },
      'GET',
      '/api/messages/unread-count',
      tokenFor(bobId, { name: 'Robert Builder', expiresInSeconds: 7200 }),
    );
    for (const device of [a1, a2]) {
      const cs = await until(
        device.conversations$(),
        (list) => list[0]?.participantNames[bobId] === 'Robert Builder',
        'the rename on a device',
      );
      expect(contactName(cs[0]!)).toBe('Robert Builder');
      expect(cs[0]!.lastMessageView?.content).toBe('here');
    }
    expect({
      a1: seqs(await replicaMessages(a1)),
      a2: seqs(await replicaMessages(a2)),
      server: seqs(await serverMessages(server, alice.id)),
    }).toEqual(beforeRename);
  });
});
