import { LIMITS } from '@fetchwork/shared-schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftConversation, draftMessage } from './support/docs';
import { storeDigest } from './support/store-digest';
import { api, connect, newUserId, pull, push, request, startTestServer, type TestServer, tokenFor } from './support/test-server';
import { threeUsers } from './support/two-users';

let server: TestServer;
let users: Awaited<ReturnType<typeof threeUsers>>;

beforeAll(async () => {
  server = await startTestServer();
  users = await threeUsers(server);
  await push(users.a.socket, { collection: 'messages', rows: [{ newDocumentState: draftMessage(users.conversationId, users.a.id, users.b.id, 'existing') }] });
});
afterAll(async () => {
  users.close();
  await server.stop();
});

/** Sends the push; expects the given code (in the ack error or the row's rejection) and an unchanged store. */
async function expectRefusedPush(payload: unknown, code: string, socket = users.a.socket) {
  const before = storeDigest(server.sqlitePath);
  const ack = await push(socket, payload);
  const codes = ack.error ? [ack.error.code] : ack.rejected.map((r: any) => r.code);
  expect(codes).toContain(code);
  expect(storeDigest(server.sqlitePath)).toBe(before);
  return ack;
}

const msg = (overrides: Record<string, unknown> = {}) => ({
  ...draftMessage(users.conversationId, users.a.id, users.b.id, 'hi'),
  ...overrides,
});

describe('each bad-input class gets its code and leaves the store unchanged', () => {
  it('wrong types', async () => {
    await expectRefusedPush({ collection: 'messages', rows: [{ newDocumentState: msg({ content: 42 }) }] }, 'VALIDATION_FAILED');
    await expectRefusedPush({ collection: 'messages', rows: 'nope' }, 'VALIDATION_FAILED');
  });

  it('missing fields', async () => {
    const { content: _omit, ...withoutContent } = msg();
    await expectRefusedPush({ collection: 'messages', rows: [{ newDocumentState: withoutContent }] }, 'VALIDATION_FAILED');
    await expectRefusedPush({ collection: 'messages' }, 'VALIDATION_FAILED');
  });

  it('content over 2000 characters', async () => {
    const ack = await expectRefusedPush(
      { collection: 'messages', rows: [{ newDocumentState: msg({ content: 'x'.repeat(LIMITS.contentMaxLength + 1) }) }] },
      'CONTENT_TOO_LONG',
    );
    expect(ack.rejected[0].id).toMatch(/^[0-9a-f-]{36}$/);
    const rest = await api(server, 'POST', `/api/messages/conversations/${encodeURIComponent(users.conversationId)}/messages`, users.a.token, {
      content: 'y'.repeat(2001),
    });
    expect(rest.status).toBe(400);
    expect(rest.body.error.code).toBe('CONTENT_TOO_LONG');
  });

  it('unknown collection', async () => {
    await expectRefusedPush({ collection: 'users', rows: [] }, 'UNKNOWN_COLLECTION');
    const ack = await pull(users.a.socket, { collection: 'secrets', checkpoint: null, batchSize: 10 });
    expect(ack.error.code).toBe('UNKNOWN_COLLECTION');
    expect((await request(users.a.socket, 'sync:bootstrap', { collection: 'secrets', pageSize: 10 })).error.code).toBe('UNKNOWN_COLLECTION');
    expect((await request(users.a.socket, 'sync:history', { collection: 'users', before: 1, limit: 10 })).error.code).toBe('UNKNOWN_COLLECTION');
  });

  it('forged sender', async () => {
    await expectRefusedPush({ collection: 'messages', rows: [{ newDocumentState: msg({ sender: users.b.id, recipient: users.a.id }) }] }, 'FORBIDDEN');
  });

  it('changed server fields', async () => {
    await expectRefusedPush({ collection: 'messages', rows: [{ newDocumentState: msg({ seq: 999, sentAt: new Date().toISOString() }) }] }, 'SERVER_FIELD');
    const stored = (await pull(users.a.socket, { collection: 'messages', checkpoint: null, batchSize: 10 })).documents[0];
    const ack = await expectRefusedPush(
      { collection: 'messages', rows: [{ assumedMasterState: stored, newDocumentState: { ...stored, sentAt: '2000-01-01T00:00:00.000Z' } }] },
      'SERVER_FIELD',
    );
    expect(ack.conflicts[0].sentAt).toBe(stored.sentAt);
    const conv = (await pull(users.a.socket, { collection: 'conversations', checkpoint: null, batchSize: 10 })).documents[0];
    await expectRefusedPush(
      { collection: 'conversations', rows: [{ assumedMasterState: conv, newDocumentState: { ...conv, unreadCount: { [users.a.id]: 0, [users.b.id]: 0 } } }] },
      'SERVER_FIELD',
    );
  });

  it('non-participant', async () => {
    const { c } = users;
    await expectRefusedPush(
      { collection: 'messages', rows: [{ newDocumentState: draftMessage(users.conversationId, c.id, users.b.id, 'intruder') }] },
      'FORBIDDEN',
      c.socket,
    );
    // Overwriting an existing message id the stranger cannot see: refused, and no state leaks.
    const stored = (await pull(users.a.socket, { collection: 'messages', checkpoint: null, batchSize: 10 })).documents[0];
    const ack = await expectRefusedPush({ collection: 'messages', rows: [{ newDocumentState: { ...stored, content: 'mine now' } }] }, 'ID_TAKEN', c.socket);
    expect(ack.conflicts).toEqual([]);
    await expectRefusedPush(
      { collection: 'conversations', rows: [{ newDocumentState: draftConversation(users.a.id, users.b.id, 'job1') }] },
      'FORBIDDEN',
      c.socket,
    );
  });

  it('malformed checkpoint', async () => {
    for (const checkpoint of [{ seq: -1 }, { seq: 'x' }, { sequence: 1 }, 'abc', { seq: 1.5 }, { seq: 10 ** 12 }]) {
      const ack = await pull(users.a.socket, { collection: 'messages', checkpoint, batchSize: 10 });
      expect(ack.error?.code, JSON.stringify(checkpoint)).toBe('INVALID_CHECKPOINT');
    }
    for (const before of [-1, 0, 'x', 1.5, 10 ** 12]) {
      const history = await request(users.a.socket, 'sync:history', { collection: 'messages', before, limit: 10 });
      expect(history.error?.code, `history ${JSON.stringify(before)}`).toBe('INVALID_CHECKPOINT');
      const page = await request(users.a.socket, 'sync:page', { conversationId: users.conversationId, before, limit: 10 });
      expect(page.error?.code, `page ${JSON.stringify(before)}`).toBe('INVALID_CHECKPOINT');
    }
  });

  it('__proto__ and $-prefixed keys', async () => {
    const proto = JSON.parse(`{"collection":"messages","rows":[{"newDocumentState":${JSON.stringify(msg())}}],"__proto__":{"polluted":true}}`);
    await expectRefusedPush(proto, 'FORBIDDEN_KEY');
    const rowProto = JSON.parse(`{"newDocumentState":${JSON.stringify(msg()).replace('{', '{"__proto__":{"isAdmin":true},')}}`);
    await expectRefusedPush({ collection: 'messages', rows: [rowProto] }, 'FORBIDDEN_KEY');
    await expectRefusedPush({ collection: 'messages', rows: [{ newDocumentState: { ...msg(), content: { $gt: '' } } }] }, 'FORBIDDEN_KEY');
    await expectRefusedPush({ collection: 'messages', rows: [{ newDocumentState: { ...msg(), $where: '1' } }] }, 'FORBIDDEN_KEY');
    const rest = await api(server, 'POST', '/api/messages/conversations', users.a.token, '{"participantId":{"$ne":null}}');
    expect(rest.body.error.code).toBe('FORBIDDEN_KEY');
    expect(({} as any).polluted).toBeUndefined();
    expect(({} as any).isAdmin).toBeUndefined();
  });

  it('oversized batch', async () => {
    const rows = Array.from({ length: LIMITS.pushMaxRows + 1 }, () => ({ newDocumentState: msg() }));
    await expectRefusedPush({ collection: 'messages', rows }, 'BATCH_TOO_LARGE');
    const ack = await pull(users.a.socket, { collection: 'messages', checkpoint: null, batchSize: LIMITS.pullMaxBatch + 1 });
    expect(ack.error.code).toBe('VALIDATION_FAILED');
    const reads: [string, unknown][] = [
      ['sync:bootstrap', { collection: 'messages', pageSize: LIMITS.bootstrapPageMax + 1 }],
      ['sync:history', { collection: 'messages', before: 1, limit: LIMITS.historyMaxBatch + 1 }],
      ['sync:page', { conversationId: users.conversationId, before: null, limit: LIMITS.pageMaxBatch + 1 }],
    ];
    for (const [event, payload] of reads) expect((await request(users.a.socket, event, payload)).error.code, event).toBe('BATCH_TOO_LARGE');
  });

  it('a bad row does not sink the good rows of the same batch', async () => {
    const good = msg({ content: 'good row' });
    const ack = await push(users.a.socket, {
      collection: 'messages',
      rows: [{ newDocumentState: msg({ content: 'x'.repeat(3000) }) }, { newDocumentState: good }, { bogus: true }],
    });
    expect(ack.rejected.map((r: any) => r.code).sort()).toEqual(['CONTENT_TOO_LONG', 'VALIDATION_FAILED']);
    const docs = (await pull(users.b.socket, { collection: 'messages', checkpoint: null, batchSize: 100 })).documents;
    expect(docs.some((d: any) => d.id === good.id)).toBe(true);
  });

  it('the server stays up after all of it', async () => {
    expect((await api(server, 'GET', '/health')).body).toMatchObject({ status: 'ok' });
    const fresh = await connect(server.url, tokenFor(newUserId()));
    expect(fresh.connected).toBe(true);
    fresh.close();
  });
});

describe('REST bad input', () => {
  it('non-JSON bodies and unknown fields answer coded 400s', async () => {
    const path = `/api/messages/conversations/${encodeURIComponent(users.conversationId)}/messages`;
    const before = storeDigest(server.sqlitePath);
    const broken = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${users.a.token}`, 'content-type': 'application/json' },
      body: '{"content": "unterminated',
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as any).error.code).toBe('VALIDATION_FAILED');
    expect((await api(server, 'POST', path, users.a.token, { content: 'x', sender: users.b.id })).body.error.code).toBe('VALIDATION_FAILED');
    expect((await api(server, 'POST', path, users.a.token, { content: 7 })).body.error.code).toBe('VALIDATION_FAILED');
    expect((await api(server, 'POST', '/api/messages/conversations/not-an-id/messages', users.a.token, { content: 'x' })).status).toBe(400);
    expect(storeDigest(server.sqlitePath)).toBe(before);
  });
});
