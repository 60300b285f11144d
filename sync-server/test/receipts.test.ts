import { afterAll, beforeAll, expect, it } from 'vitest';
import { draftMessage } from './support/docs';
import { storeDigest } from './support/store-digest';
import { threeUsers } from './support/two-users';
import { collectStream, pull, push, startTestServer, type TestServer, waitFor } from './support/test-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const delivered = (socket: any, payload: unknown) => socket.timeout(5000).emitWithAck('messages:delivered', payload);

it('messages:delivered: the recipient marks messages delivered (server time, streamed to the sender); repeats, the sender and strangers change nothing', async () => {
  const { a, b, c, conversationId, close } = await threeUsers(server);
  try {
    const m1 = draftMessage(conversationId, a.id, b.id, 'one');
    const m2 = draftMessage(conversationId, a.id, b.id, 'two');
    expect(await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: m1 }, { newDocumentState: m2 }] })).toEqual({
      conflicts: [],
      rejected: [],
    });
    await pull(a.socket, { collection: 'messages', checkpoint: null, batchSize: 10 });
    const aStream = collectStream(a.socket);

    const before = storeDigest(server.sqlitePath);
    expect(await delivered(a.socket, { ids: [m1.id] })).toEqual({
      delivered: 0,
      rejected: [{ id: m1.id, code: 'FORBIDDEN', message: expect.any(String) }],
    });
    expect(await delivered(c.socket, { ids: [m1.id] })).toEqual({
      delivered: 0,
      rejected: [{ id: m1.id, code: 'NOT_FOUND', message: 'message not found' }],
    });
    expect((await delivered(b.socket, { ids: [] })).error.code).toBe('VALIDATION_FAILED');
    expect((await delivered(b.socket, { ids: ['not-an-id'] })).error.code).toBe('VALIDATION_FAILED');
    expect((await delivered(b.socket, { ids: [m1.id], extra: 1 })).error.code).toBe('VALIDATION_FAILED');
    expect(storeDigest(server.sqlitePath)).toEqual(before);

    const t0 = Date.now();
    expect(await delivered(b.socket, { ids: [m1.id, m2.id, m1.id] })).toEqual({ delivered: 2, rejected: [] });
    const echoed = await waitFor(() => {
      const docs = aStream.flatMap((e) => e.documents ?? []).filter((d: any) => d.deliveredAt !== null);
      return docs.length === 2 ? docs : null;
    }, 'the sender streamed the receipts');
    const stamped = Date.parse(echoed[0].deliveredAt);
    expect(stamped).toBeGreaterThanOrEqual(t0 - 1000);
    expect(echoed.map((d: any) => d.id).sort()).toEqual([m1.id, m2.id].sort());

    const afterFirst = storeDigest(server.sqlitePath);
    expect(await delivered(b.socket, { ids: [m1.id] })).toEqual({ delivered: 0, rejected: [] });
    expect(storeDigest(server.sqlitePath)).toEqual(afterFirst);
  } finally {
    close();
  }
});
