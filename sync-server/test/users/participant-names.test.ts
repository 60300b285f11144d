import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fallbackName } from '../../src/users/fallback-name';
import { draftConversation } from '../support/docs';
import { openTab } from '../support/presence';
import { api, connect, newUserId, pull, push, startTestServer, type TestServer, tokenFor, waitFor } from '../support/test-server';

let server: TestServer;
beforeAll(async () => {
  // The tests poll REST until a name arrives: far more requests per minute than a person makes.
  server = await startTestServer({ rateLimits: { httpRequestsPerMinute: 100_000 } });
});
afterAll(async () => {
  await server.stop();
});

function person(name: string) {
  const id = newUserId();
  return { id, name, token: tokenFor(id, { name }) };
}

const enc = encodeURIComponent;

async function restConversations(token: string): Promise<any[]> {
  const res = await api(server, 'GET', '/api/messages/conversations', token);
  expect(res.status).toBe(200);
  return res.body.data;
}

async function namesSeenBy(token: string, conversationId: string): Promise<Record<string, string> | undefined> {
  return (await restConversations(token)).find((c) => c.id === conversationId)?.participantNames;
}

describe('names for users who only use REST', () => {
  it('a conversation created over REST names both sides, and a contact who never connected gets a name once known', async () => {
    const alice = person('Alice Archer');
    const bob = person('Bob Builder');
    const created = await api(server, 'POST', '/api/messages/conversations', alice.token, { participantId: bob.id });
    expect(created.status).toBe(201);
    const conv = created.body.data;
    // Alice's own request carried her name; Bob has never been seen: a stable fallback, not "Unknown user".
    expect(conv.participantNames).toEqual({ [alice.id]: 'Alice Archer', [bob.id]: fallbackName(bob.id) });
    expect(fallbackName(bob.id)).toMatch(/^FetchWork user [0-9a-f]{4}$/);

    // Bob's first request (any endpoint) carries his name: it reaches the conversation Alice holds.
    await api(server, 'GET', '/api/messages/unread-count', bob.token);
    await waitFor(async () => (await namesSeenBy(alice.token, conv.id))?.[bob.id] === 'Bob Builder', "Alice sees Bob's name");
    expect(await namesSeenBy(bob.token, conv.id)).toEqual({ [alice.id]: 'Alice Archer', [bob.id]: 'Bob Builder' });
  });

  it('a rename reaches the conversation over the live stream as a server write, without rewriting any message', async () => {
    const alice = person('Alice');
    const bob = person('Bob');
    const conv = (await api(server, 'POST', '/api/messages/conversations', alice.token, { participantId: bob.id })).body.data;
    for (const content of ['one', 'two']) {
      expect((await api(server, 'POST', `/api/messages/conversations/${enc(conv.id)}/messages`, alice.token, { content })).status).toBe(
        201,
      );
    }
    const before = (await api(server, 'GET', `/api/messages/conversations/${enc(conv.id)}`, alice.token)).body.data;

    const socket = await connect(server.url, alice.token);
    try {
      const start = await pull(socket, { collection: 'conversations', checkpoint: null, batchSize: 100 });
      const messagesHead = (await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 100 })).checkpoint;
      const streamed: any[] = [];
      socket.on('sync:stream', (e) => streamed.push(e));

      await api(server, 'GET', '/api/messages/conversations', tokenFor(bob.id, { name: 'Robert Smith' }));
      const renamed = await waitFor(
        () =>
          streamed.find(
            (e) => e.collection === 'conversations' && e.documents?.some((d: any) => d.participantNames[bob.id] === 'Robert Smith'),
          ),
        'the renamed conversation on the stream',
      );
      const doc = renamed.documents.find((d: any) => d.id === conv.id);
      expect(doc.seq).toBeGreaterThan(start.checkpoint.seq);
      expect(doc.participantNames[alice.id]).toBe('Alice');
      expect(doc.lastMessage).toBe(conv.lastMessage ?? before[before.length - 1].id);
      // History untouched: the same messages at the same sequences, and no message moved in Alice's feed.
      expect((await api(server, 'GET', `/api/messages/conversations/${enc(conv.id)}`, alice.token)).body.data).toEqual(before);
      expect((await pull(socket, { collection: 'messages', checkpoint: messagesHead, batchSize: 100 })).documents).toEqual([]);
      expect(streamed.filter((e) => e.collection === 'messages')).toEqual([]);
    } finally {
      socket.close();
    }
  });

  it('a name from registration is used before the user ever makes a request', async () => {
    const alice = person('Alice');
    const bobId = newUserId();
    await server.accounts.createConfirmed(
      { email: `bob-${bobId}@example.com`, password: 'correct horse battery', name: 'Bob Registered' },
      bobId,
    );
    const conv = (await api(server, 'POST', '/api/messages/conversations', alice.token, { participantId: bobId })).body.data;
    expect(conv.participantNames[bobId]).toBe('Bob Registered');
  });

  it('a token older than the one that set the name does not change it back', async () => {
    const alice = person('Alice');
    const bobId = newUserId();
    const older = tokenFor(bobId, { name: 'Old Name', expiresInSeconds: 600 });
    const newer = tokenFor(bobId, { name: 'New Name', expiresInSeconds: 3600 });
    const conv = (await api(server, 'POST', '/api/messages/conversations', alice.token, { participantId: bobId })).body.data;
    await api(server, 'GET', '/api/messages/unread-count', newer);
    await waitFor(async () => (await namesSeenBy(alice.token, conv.id))?.[bobId] === 'New Name', 'the new name');
    const settled = (await restConversations(alice.token)).find((c) => c.id === conv.id);
    await api(server, 'GET', '/api/messages/unread-count', older);
    // A barrier: a later rename of someone else in the same process has been applied, so Bob's old token had its turn.
    const carol = person('Carol');
    const withCarol = (await api(server, 'POST', '/api/messages/conversations', alice.token, { participantId: carol.id })).body.data;
    await api(server, 'GET', '/api/messages/unread-count', tokenFor(carol.id, { name: 'Carol Later', expiresInSeconds: 7200 }));
    await waitFor(async () => (await namesSeenBy(alice.token, withCarol.id))?.[carol.id] === 'Carol Later', "Carol's name");
    expect((await restConversations(alice.token)).find((c) => c.id === conv.id)).toEqual(settled);
  });
});

describe('nobody names anyone else', () => {
  it('participantNames a client proposes are ignored: the directory names both sides', async () => {
    const alice = person('Alice Real');
    const bob = newUserId();
    const socket = await connect(server.url, alice.token);
    try {
      const proposal = { ...draftConversation(alice.id, bob), participantNames: { [alice.id]: 'Queen Alice', [bob]: 'Evil Name' } };
      const ack = await push(socket, { collection: 'conversations', rows: [{ newDocumentState: proposal }] });
      expect(ack.rejected).toEqual([]);
      const stored = (await restConversations(alice.token)).find((c) => c.id === proposal.id);
      expect(stored.participantNames).toEqual({ [alice.id]: 'Alice Real', [bob]: fallbackName(bob) });

      // Changing the names of a stored conversation is refused like any server field.
      const forged = { ...stored, _deleted: false, participantNames: { ...stored.participantNames, [bob]: 'Evil Name' } };
      const update = await push(socket, {
        collection: 'conversations',
        rows: [{ assumedMasterState: { ...stored, _deleted: false }, newDocumentState: forged }],
      });
      expect(update.conflicts).toHaveLength(1);
      expect((await restConversations(alice.token)).find((c) => c.id === proposal.id).participantNames[bob]).toBe(fallbackName(bob));
    } finally {
      socket.close();
    }
  });

  it('a stranger learns nothing about a user: not over pull, stream, REST or presence', async () => {
    const alice = person('Alice');
    const bob = person('Bob Secretname');
    const carol = person('Carol');
    const conv = (await api(server, 'POST', '/api/messages/conversations', alice.token, { participantId: bob.id })).body.data;
    // Both write, so that presence flows between them (consent, docs/presence.md).
    for (const [from, text] of [
      [alice, 'hi'],
      [bob, 'hello'],
    ] as const) {
      expect(
        (await api(server, 'POST', `/api/messages/conversations/${enc(conv.id)}/messages`, from.token, { content: text })).status,
      ).toBe(201);
    }
    const aliceTab = await openTab(server, alice.token);
    const carolTab = await openTab(server, carol.token);
    try {
      // Carol is positioned at her feed heads, so anything entering her feed would be streamed to her.
      for (const collection of ['conversations', 'messages']) {
        await (carolTab.socket.timeout(5000) as any).emitWithAck('sync:pull', { collection, checkpoint: null, batchSize: 100 });
      }
      // Bob appears (presence), makes requests (his name becomes known) and is renamed.
      const bobSocket = await connect(server.url, bob.token);
      await waitFor(() => aliceTab.of('user:online').some((e) => e.userId === bob.id), 'Alice (a contact) sees Bob online');
      await waitFor(async () => (await namesSeenBy(alice.token, conv.id))?.[bob.id] === 'Bob Secretname', "Alice sees Bob's name");
      await api(server, 'GET', '/api/messages/unread-count', tokenFor(bob.id, { name: 'Bob Renamed', expiresInSeconds: 7200 }));
      await waitFor(async () => (await namesSeenBy(alice.token, conv.id))?.[bob.id] === 'Bob Renamed', 'the rename at Alice');
      bobSocket.close();
      await waitFor(() => aliceTab.of('user:offline').some((e) => e.userId === bob.id), 'Alice sees Bob offline');

      const seen = JSON.stringify({
        events: carolTab.events,
        pulled: await Promise.all(
          ['conversations', 'messages'].map((collection) =>
            (carolTab.socket.timeout(5000) as any).emitWithAck('sync:pull', { collection, checkpoint: null, batchSize: 1000 }),
          ),
        ),
        rest: await restConversations(carol.token),
        direct: (await api(server, 'GET', `/api/messages/conversations/${enc(conv.id)}`, carol.token)).body,
      });
      for (const secret of [bob.id, 'Secretname', 'Bob Renamed', conv.id]) expect(seen).not.toContain(secret);
    } finally {
      aliceTab.socket.close();
      carolTab.socket.close();
    }
  });
});
