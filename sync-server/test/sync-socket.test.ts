import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { draftMessage } from './support/docs';
import { api, collectStream, connect, pull, push, startTestServer, type TestServer, waitFor } from './support/test-server';
import { threeUsers } from './support/two-users';

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.stop();
});

const pullAll = async (socket: Parameters<typeof pull>[0], collection: string, seq: number | null = null) =>
  pull(socket, { collection, checkpoint: seq === null ? null : { seq }, batchSize: 1000 });

describe('two users exchange messages over the socket and REST', () => {
  it('delivers each side the other’s messages at once, and nothing to a third user', async () => {
    const { a, b, c, conversationId, close } = await threeUsers(server);
    const aStream = collectStream(a.socket);
    const bStream = collectStream(b.socket);
    const cStream = collectStream(c.socket);
    // Everyone starts from a pulled position, so commits stream with their documents.
    for (const p of [a, b, c]) await pullAll(p.socket, 'messages');

    const fromA = draftMessage(conversationId, a.id, b.id, 'hello over the socket');
    const ack = await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: fromA }] });
    expect(ack).toEqual({ conflicts: [], rejected: [] });

    const streamedToB = await waitFor(() => bStream.find((e) => e.collection === 'messages' && e.documents?.some((d: any) => d.id === fromA.id)), 'B stream');
    const doc = streamedToB.documents.find((d: any) => d.id === fromA.id);
    expect(doc.content).toBe('hello over the socket');
    expect(doc.seq).toBeGreaterThan(0);
    expect(doc.sentAt).not.toBeNull();
    // The sender's own copy comes back with server fields (turns "sent").
    await waitFor(() => aStream.find((e) => e.documents?.some((d: any) => d.id === fromA.id && d.sentAt)), 'A echo');

    const rest = await api(server, 'POST', `/api/messages/conversations/${encodeURIComponent(conversationId)}/messages`, b.token, { content: 'hello over REST' });
    expect(rest.status).toBe(201);
    expect(rest.body.data.sender).toBe(b.id);
    await waitFor(() => aStream.find((e) => e.documents?.some((d: any) => d.id === rest.body.data.id)), 'A receives REST write');

    const listedForA = await api(server, 'GET', `/api/messages/conversations/${encodeURIComponent(conversationId)}`, a.token);
    expect(listedForA.body.data.map((m: any) => m.content)).toEqual(['hello over the socket', 'hello over REST']);

    // The stranger: no stream events, nothing in pull, 404 over REST, no conversations.
    expect(cStream).toEqual([]);
    expect((await pullAll(c.socket, 'messages')).documents).toEqual([]);
    expect((await pullAll(c.socket, 'conversations')).documents).toEqual([]);
    expect((await api(server, 'GET', `/api/messages/conversations/${encodeURIComponent(conversationId)}`, c.token)).status).toBe(404);
    expect((await api(server, 'GET', '/api/messages/conversations', c.token)).body.data).toEqual([]);
    expect((await api(server, 'GET', `/api/messages/search?q=hello`, c.token)).body.data).toEqual([]);
    close();
  });

  it('updates the conversation (last message, activity, unread) in the same commit', async () => {
    const { a, b, conversationId, close } = await threeUsers(server);
    const m = draftMessage(conversationId, a.id, b.id, 'count me');
    await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: m }] });
    const conv = (await pullAll(b.socket, 'conversations')).documents[0];
    expect(conv.lastMessage).toBe(m.id);
    expect(conv.unreadCount[b.id]).toBe(1);
    expect(conv.unreadCount[a.id]).toBe(0);
    expect((await api(server, 'GET', '/api/messages/unread-count', b.token)).body).toEqual({ data: { count: 1 } });
    close();
  });
});

describe('checkpoints', () => {
  it('a client reconnecting with its checkpoint gets exactly what it missed', async () => {
    const { a, b, conversationId, close } = await threeUsers(server);
    const first = await pullAll(b.socket, 'messages');
    b.socket.close();
    const missed = [];
    for (let i = 0; i < 5; i++) {
      const m = draftMessage(conversationId, a.id, b.id, `missed ${i}`);
      missed.push(m.id);
      await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: m }] });
    }
    const again = await connect(server.url, b.token);
    const caught = await pull(again, { collection: 'messages', checkpoint: first.checkpoint, batchSize: 2 });
    const rest = await pull(again, { collection: 'messages', checkpoint: caught.checkpoint, batchSize: 100 });
    const ids = [...caught.documents, ...rest.documents].map((d: any) => d.id);
    expect(ids).toEqual(missed);
    const none = await pull(again, { collection: 'messages', checkpoint: rest.checkpoint, batchSize: 100 });
    expect(none.documents).toEqual([]);
    expect(none.checkpoint).toEqual(rest.checkpoint);
    again.close();
    close();
  });

  it('streams a resync instead of documents when the socket has not pulled up to the previous change', async () => {
    const { a, b, conversationId, close } = await threeUsers(server);
    const bStream = collectStream(b.socket);
    // B never pulled messages: its position is unknown, so it must be told to resync.
    await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: draftMessage(conversationId, a.id, b.id, 'x') }] });
    const event = await waitFor(() => bStream.find((e) => e.collection === 'messages'), 'B stream');
    expect(event).toEqual({ collection: 'messages', resync: true });
    close();
  });
});

describe('idempotency and conflicts', () => {
  it('a retried push stores once', async () => {
    const { a, b, conversationId, close } = await threeUsers(server);
    const m = draftMessage(conversationId, a.id, b.id, 'once');
    expect(await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: m }] })).toEqual({ conflicts: [], rejected: [] });
    for (let i = 0; i < 2; i++) {
      // A retry (its first ack was lost) stores nothing and answers the stored state, so the
      // client's copy takes the server fields instead of staying pending forever.
      const ack = await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: m }] });
      expect(ack.rejected).toEqual([]);
      expect(ack.conflicts).toHaveLength(1);
      expect(ack.conflicts[0]).toMatchObject({ id: m.id, content: 'once' });
      expect(ack.conflicts[0].sentAt).not.toBeNull();
    }
    const docs = (await pullAll(b.socket, 'messages')).documents;
    expect(docs.filter((d: any) => d.id === m.id)).toHaveLength(1);
    const conv = (await pullAll(b.socket, 'conversations')).documents[0];
    expect(conv.unreadCount[b.id]).toBe(1);
    close();
  });

  it('a burst of concurrent pushes into one conversation commits every row (no retries run out)', async () => {
    const { a, b, conversationId, close } = await threeUsers(server);
    const messages = Array.from({ length: 30 }, (_, i) => draftMessage(conversationId, i % 2 ? a.id : b.id, i % 2 ? b.id : a.id, `burst ${i}`));
    const acks = await Promise.all(
      messages.map((m) => push(m.sender === a.id ? a.socket : b.socket, { collection: 'messages', rows: [{ newDocumentState: m }] })),
    );
    expect(acks.filter((ack) => ack.error || ack.rejected.length > 0)).toEqual([]);
    const stored = (await pullAll(a.socket, 'messages')).documents;
    expect(stored).toHaveLength(30);
    const conv = (await pullAll(a.socket, 'conversations')).documents[0];
    expect(conv.unreadCount[a.id] + conv.unreadCount[b.id]).toBe(30);
    close();
  });

  it('a quick second edit, pushed with the client copy as assumed master, is not lost', async () => {
    const { a, b, conversationId, close } = await threeUsers(server);
    const m = draftMessage(conversationId, a.id, b.id, 'first');
    await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: m }] });
    // RxDB keeps the client's own state (no seq/sentAt) as the assumed master after a push.
    const edited = { ...m, content: 'second', isEdited: true, editedAt: new Date().toISOString() };
    const ack = await push(a.socket, { collection: 'messages', rows: [{ assumedMasterState: m, newDocumentState: edited }] });
    expect(ack).toEqual({ conflicts: [], rejected: [] });
    const stored = (await pullAll(b.socket, 'messages')).documents.find((d: any) => d.id === m.id);
    expect(stored.content).toBe('second');
    expect(stored.isEdited).toBe(true);
    close();
  });

  it('a concurrent edit by the sender and read by the recipient both survive', async () => {
    const { a, b, conversationId, close } = await threeUsers(server);
    const m = draftMessage(conversationId, a.id, b.id, 'original');
    await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: m }] });
    const master = (await pullAll(b.socket, 'messages')).documents[0];
    const now = new Date().toISOString();
    const [editAck, readAck] = await Promise.all([
      push(a.socket, { collection: 'messages', rows: [{ assumedMasterState: master, newDocumentState: { ...master, content: 'edited', isEdited: true, editedAt: now } }] }),
      push(b.socket, { collection: 'messages', rows: [{ assumedMasterState: master, newDocumentState: { ...master, isRead: true, readAt: now, deliveredAt: now } }] }),
    ]);
    // Whichever lost the race got the other's state as a conflict; resolve and push again as RxDB would.
    const { mergeMessage } = await import('@fetchwork/shared-schema');
    for (const [ack, socket, local] of [
      [editAck, a.socket, { ...master, content: 'edited', isEdited: true, editedAt: now }],
      [readAck, b.socket, { ...master, isRead: true, readAt: now, deliveredAt: now }],
    ] as const) {
      for (const conflict of ack.conflicts) {
        const resolved = mergeMessage(conflict, local as any);
        const again = await push(socket, { collection: 'messages', rows: [{ assumedMasterState: conflict, newDocumentState: resolved }] });
        expect(again).toEqual({ conflicts: [], rejected: [] });
      }
    }
    expect(editAck.conflicts.length + readAck.conflicts.length).toBeLessThanOrEqual(1);
    const final = (await pullAll(a.socket, 'messages')).documents[0];
    expect(final.content).toBe('edited');
    expect(final.isRead).toBe(true);
    expect(final.deliveredAt).not.toBeNull();
    close();
  });

  it('re-pushing a pulled document (interrupted pull write) is a no-op whoever sends it', async () => {
    const { a, b, conversationId, close } = await threeUsers(server);
    await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: draftMessage(conversationId, a.id, b.id, 'pulled') }] });
    const pulled = (await pullAll(b.socket, 'messages')).documents[0];
    const conv = (await pullAll(b.socket, 'conversations')).documents[0];
    const head = (await pullAll(b.socket, 'messages')).checkpoint.seq;
    expect(await push(b.socket, { collection: 'messages', rows: [{ newDocumentState: pulled }] })).toEqual({ conflicts: [], rejected: [] });
    expect(await push(b.socket, { collection: 'conversations', rows: [{ newDocumentState: conv }] })).toEqual({ conflicts: [], rejected: [] });
    expect((await pullAll(b.socket, 'messages', head)).documents).toEqual([]);
    close();
  });

  it('receipts never go back: un-reading is answered with the stored state', async () => {
    const { a, b, conversationId, close } = await threeUsers(server);
    await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: draftMessage(conversationId, a.id, b.id, 'r') }] });
    const m = (await pullAll(b.socket, 'messages')).documents[0];
    const now = new Date().toISOString();
    await push(b.socket, { collection: 'messages', rows: [{ assumedMasterState: m, newDocumentState: { ...m, isRead: true, readAt: now, deliveredAt: now } }] });
    const read = (await pullAll(b.socket, 'messages')).documents[0];
    const ack = await push(b.socket, { collection: 'messages', rows: [{ assumedMasterState: read, newDocumentState: { ...read, isRead: false, readAt: null } }] });
    expect(ack.conflicts).toHaveLength(1);
    expect(ack.conflicts[0].isRead).toBe(true);
    expect(ack.rejected[0].code).toBe('FORBIDDEN');
    close();
  });

  it('a read pushed on a copy from before its delivered receipt is stored, not a conflict; a change that says nothing of the receipt still is one', async () => {
    const { a, b, conversationId, close } = await threeUsers(server);
    await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: draftMessage(conversationId, a.id, b.id, 'read me') }] });
    const beforeReceipt = (await pullAll(b.socket, 'messages')).documents[0];
    const aCopy = (await pullAll(a.socket, 'messages')).documents[0];
    expect(await b.socket.timeout(5000).emitWithAck('messages:delivered', { ids: [beforeReceipt.id] })).toMatchObject({ delivered: 1 });
    const stamped = (await pullAll(b.socket, 'messages')).documents[0];

    // The recipient reads it on the copy it had before the receipt's echo: the row marks it
    // delivered too, so the stamp the server gained meanwhile is no news to it.
    const now = new Date().toISOString();
    const read = await push(b.socket, {
      collection: 'messages',
      rows: [{ assumedMasterState: beforeReceipt, newDocumentState: { ...beforeReceipt, isRead: true, readAt: now, deliveredAt: now } }],
    });
    expect(read).toEqual({ conflicts: [], rejected: [] });
    const stored = (await pullAll(b.socket, 'messages')).documents[0];
    expect(stored).toMatchObject({ isRead: true, deliveredAt: stamped.deliveredAt });
    expect(stored.readAt).not.toBeNull();

    // The sender's edit on its copy from before the receipt leaves the receipt out: a conflict
    // carrying the stored state, which the client merges.
    const edit = await push(a.socket, {
      collection: 'messages',
      rows: [{ assumedMasterState: aCopy, newDocumentState: { ...aCopy, content: 'edited', isEdited: true, editedAt: now } }],
    });
    expect(edit.conflicts).toHaveLength(1);
    expect(edit.conflicts[0]).toMatchObject({ content: 'read me', isRead: true });
    close();
  });

  it('edit and delete by the sender reach the recipient; delete is sticky', async () => {
    const { a, b, conversationId, close } = await threeUsers(server);
    const sent = await api(server, 'POST', `/api/messages/conversations/${encodeURIComponent(conversationId)}/messages`, a.token, { content: 'to edit' });
    const id = sent.body.data.id;
    expect((await api(server, 'PATCH', `/api/messages/${id}`, a.token, { content: 'edited' })).body.data.isEdited).toBe(true);
    expect((await api(server, 'PATCH', `/api/messages/${id}`, b.token, { content: 'not yours' })).status).toBe(403);
    expect((await api(server, 'DELETE', `/api/messages/${id}`, b.token)).status).toBe(403);
    const deleted = await api(server, 'DELETE', `/api/messages/${id}`, a.token);
    expect(deleted.body.data).toMatchObject({ isDeleted: true, content: '' });
    const seen = (await pullAll(b.socket, 'messages')).documents.find((d: any) => d.id === id);
    expect(seen).toMatchObject({ isDeleted: true, content: '', attachments: [] });
    expect((await api(server, 'PATCH', `/api/messages/${id}`, a.token, { content: 'revive' })).status).toBe(403);
    close();
  });
});
