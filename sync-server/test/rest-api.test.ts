import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, collectStream, connect, newUserId, pull, startTestServer, type TestServer, tokenFor, waitFor } from './support/test-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

function user() {
  const id = newUserId();
  return { id, token: tokenFor(id) };
}

const enc = encodeURIComponent;

describe('FetchWork’s five endpoints keep their paths and { data } envelope', () => {
  it('create (or return) a conversation, send, list conversations and messages, unread count', async () => {
    const a = user();
    const b = user();
    const created = await api(server, 'POST', '/api/messages/conversations', a.token, { participantId: b.id });
    expect(created.status).toBe(201);
    const conv = created.body.data;
    expect(conv.participants).toEqual([a.id, b.id].sort());
    // The same participants (either side) and job give back the same conversation.
    const again = await api(server, 'POST', '/api/messages/conversations', b.token, { participantId: a.id });
    expect(again.status).toBe(200);
    expect(again.body.data.id).toBe(conv.id);
    const withJob = await api(server, 'POST', '/api/messages/conversations', a.token, { participantId: b.id, jobId: '650000000000000000000001' });
    expect(withJob.body.data.id).not.toBe(conv.id);
    expect(withJob.body.data.job).toBe('650000000000000000000001');

    const sent = await api(server, 'POST', `/api/messages/conversations/${enc(conv.id)}/messages`, a.token, { content: 'Can you start Monday?' });
    expect(sent.status).toBe(201);
    expect(sent.body.data).toMatchObject({ conversation: conv.id, sender: a.id, recipient: b.id, content: 'Can you start Monday?', isRead: false });
    expect(sent.body.data.sentAt).not.toBeNull();

    const list = await api(server, 'GET', '/api/messages/conversations', b.token);
    expect(list.body.data[0]).toMatchObject({ id: conv.id, lastMessage: sent.body.data.id });
    expect(list.body.data).toHaveLength(2);
    const messages = await api(server, 'GET', `/api/messages/conversations/${enc(conv.id)}`, b.token);
    expect(messages.body.data.map((m: any) => m.id)).toEqual([sent.body.data.id]);
    expect(await api(server, 'GET', '/api/messages/unread-count', b.token)).toEqual({ status: 200, body: { data: { count: 1 } } });
    expect((await api(server, 'GET', '/api/messages/unread-count', a.token)).body.data.count).toBe(0);
  });

  it('a retried POST with the same client id stores once', async () => {
    const a = user();
    const b = user();
    const conv = (await api(server, 'POST', '/api/messages/conversations', a.token, { participantId: b.id })).body.data;
    const id = '01890a5d-ac96-774b-bcce-b302099a8057';
    for (let i = 0; i < 3; i++) {
      const r = await api(server, 'POST', `/api/messages/conversations/${enc(conv.id)}/messages`, a.token, { id, content: 'once' });
      expect(r.status).toBe(201);
    }
    expect((await api(server, 'GET', `/api/messages/conversations/${enc(conv.id)}`, a.token)).body.data).toHaveLength(1);
    // Someone else reusing that id gets no access to it.
    const c = user();
    const convC = (await api(server, 'POST', '/api/messages/conversations', c.token, { participantId: b.id })).body.data;
    const stolen = await api(server, 'POST', `/api/messages/conversations/${enc(convC.id)}/messages`, c.token, { id, content: 'mine' });
    expect(stolen.status).toBe(409);
    expect(stolen.body.error.code).toBe('ID_TAKEN');
  });

  it('refuses a conversation with oneself and answers 404 for conversations of others', async () => {
    const a = user();
    expect((await api(server, 'POST', '/api/messages/conversations', a.token, { participantId: a.id })).status).toBe(400);
    const b = user();
    const c = user();
    const conv = (await api(server, 'POST', '/api/messages/conversations', b.token, { participantId: c.id })).body.data;
    expect((await api(server, 'POST', `/api/messages/conversations/${enc(conv.id)}/messages`, a.token, { content: 'x' })).status).toBe(404);
  });
});

describe('mark-read, bulk, search', () => {
  it('mark one read, mark a conversation read, bulk read and bulk delete, each only where allowed', async () => {
    const a = user();
    const b = user();
    const conv = (await api(server, 'POST', '/api/messages/conversations', a.token, { participantId: b.id })).body.data;
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push((await api(server, 'POST', `/api/messages/conversations/${enc(conv.id)}/messages`, a.token, { content: `m${i} apple` })).body.data.id);
    }
    expect((await api(server, 'POST', `/api/messages/${ids[0]}/read`, a.token)).status).toBe(403);
    const one = await api(server, 'POST', `/api/messages/${ids[0]}/read`, b.token);
    expect(one.body.data).toMatchObject({ isRead: true });
    expect(one.body.data.deliveredAt).not.toBeNull();
    expect((await api(server, 'GET', '/api/messages/unread-count', b.token)).body.data.count).toBe(5);

    const bulkRead = await api(server, 'POST', '/api/messages/bulk', b.token, { action: 'read', messageIds: ids.slice(1, 3) });
    expect(bulkRead.body.data.rejected).toEqual([]);
    expect((await api(server, 'GET', '/api/messages/unread-count', b.token)).body.data.count).toBe(3);

    const bulkDelete = await api(server, 'POST', '/api/messages/bulk', b.token, { action: 'delete', messageIds: ids.slice(3, 4) });
    expect(bulkDelete.body.data.rejected[0].code).toBe('FORBIDDEN');
    const ownDelete = await api(server, 'POST', '/api/messages/bulk', a.token, { action: 'delete', messageIds: ids.slice(3, 5) });
    expect(ownDelete.body.data.updated.every((m: any) => m.isDeleted)).toBe(true);
    expect((await api(server, 'GET', '/api/messages/unread-count', b.token)).body.data.count).toBe(1);

    const search = await api(server, 'GET', '/api/messages/search?q=apple', b.token);
    expect(search.body.data.map((m: any) => m.content).sort()).toEqual(['m0 apple', 'm1 apple', 'm2 apple', 'm5 apple']);

    await api(server, 'POST', `/api/messages/conversations/${enc(conv.id)}/read`, b.token);
    expect((await api(server, 'GET', '/api/messages/unread-count', b.token)).body.data.count).toBe(0);
    const convAfter = (await api(server, 'GET', '/api/messages/conversations', b.token)).body.data[0];
    expect(convAfter.unreadCount[b.id]).toBe(0);
  });

  it('a REST write reaches real-time clients at once', async () => {
    const a = user();
    const b = user();
    const conv = (await api(server, 'POST', '/api/messages/conversations', a.token, { participantId: b.id })).body.data;
    const socket = await connect(server.url, b.token);
    await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 100 });
    const events = collectStream(socket);
    const sent = await api(server, 'POST', `/api/messages/conversations/${enc(conv.id)}/messages`, a.token, { content: 'live' });
    const event = await waitFor(() => events.find((e) => e.collection === 'messages'), 'stream event');
    expect(event.documents.map((d: any) => d.id)).toEqual([sent.body.data.id]);
    socket.close();
  });
});

describe('health', () => {
  it('GET /health answers ok', async () => {
    expect(await api(server, 'GET', '/health')).toEqual({
      status: 200,
      body: { status: 'ok', checks: { store: 'ok', files: 'ok' }, fileStorage: 'disk', fileScanner: 'none', push: 'off' },
    });
  });
});
