import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthUser } from '../src/auth/tokens';
import { draftConversation, draftMessage } from './support/docs';
import { newUserId, startTestServer, type TestServer } from './support/test-server';

const asUser = (id: string): AuthUser => ({ id, name: null, email: null, expiresAt: null, sessionId: null });

describe('push row metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  const rowCounts = async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const counts: Record<string, number> = {};
    for (const m of text.matchAll(/^fetchwork_push_rows_total\{collection="(\w+)",outcome="(\w+)"\} (\d+)$/gm))
      counts[`${m[1]}/${m[2]}`] = Number(m[3]);
    return counts;
  };

  it('has every outcome series from the start, and counts each row once under its outcome', async () => {
    const start = await rowCounts();
    expect(Object.keys(start).sort()).toEqual(
      ['conversations', 'messages'].flatMap((c) => ['conflict', 'noop', 'rejected', 'stored'].map((o) => `${c}/${o}`)),
    );
    const a = newUserId();
    const b = newUserId();
    const conv = draftConversation(a, b);
    await server.sync.push(asUser(a), 'conversations', [{ newDocumentState: conv }]);
    const m = draftMessage(conv.id, a, b, 'hello');
    await server.sync.push(asUser(a), 'messages', [{ newDocumentState: m }]);
    // The same creation again: answered with the stored state (a conflict). A third user's row: refused.
    await server.sync.push(asUser(a), 'messages', [{ newDocumentState: m }]);
    const outsider = newUserId();
    await server.sync.push(asUser(outsider), 'messages', [{ newDocumentState: draftMessage(conv.id, outsider, b, 'not mine') }]);
    const end = await rowCounts();
    const delta = (k: string) => (end[k] ?? 0) - (start[k] ?? 0);
    expect({
      convStored: delta('conversations/stored'),
      stored: delta('messages/stored'),
      noop: delta('messages/noop'),
      rejected: delta('messages/rejected'),
      conflict: delta('messages/conflict'),
    }).toEqual({ convStored: 1, stored: 1, noop: 0, rejected: 1, conflict: 1 });
  });
});
