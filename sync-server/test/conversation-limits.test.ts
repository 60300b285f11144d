/**
 * New conversations are limited per user (a burst-friendly window) and per pair (conversations the
 * other side never answered), on the socket push and on REST alike; everyday use never meets the
 * limits. The defaults are the production ones (20 per 10 minutes, 5 unanswered per person).
 * Nothing here measures time: a window of 10 minutes does not roll over during a test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONVERSATION_LIMITS } from '../src/sync/conversation-limits';
import { draftConversation, draftMessage } from './support/docs';
import { api, type ClientSocket, connect, newUserId, push, startTestServer, type TestServer, tokenFor } from './support/test-server';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(): Promise<TestServer> {
  const s = await startTestServer();
  cleanups.push(() => s.stop());
  return s;
}

async function socketOf(s: TestServer, userId: string): Promise<ClientSocket> {
  const socket = await connect(s.url, tokenFor(userId));
  cleanups.push(() => socket.close());
  return socket;
}

describe('limits on new conversations', () => {
  it('one push of 200 conversations with varying job ids reaches the victim at most 5 times; the rest are refused row by row', async () => {
    const s = await server();
    const [attacker, victim] = [newUserId(), newUserId()];
    const socket = await socketOf(s, attacker);
    const rows = Array.from({ length: 200 }, (_, i) => ({ newDocumentState: draftConversation(attacker, victim, `job${i}`) }));
    const ack = await push(socket, { collection: 'conversations', rows });
    expect(ack.error).toBeUndefined();
    expect(ack.rejected).toHaveLength(200 - DEFAULT_CONVERSATION_LIMITS.unansweredPerPair);
    for (const r of ack.rejected) expect(['CONVERSATION_LIMIT', 'RATE_LIMITED']).toContain(r.code);
    expect(await s.store.listConversations(victim)).toHaveLength(DEFAULT_CONVERSATION_LIMITS.unansweredPerPair);
  });

  it('one user starts at most the window’s conversations with different people; REST answers 429 past it', async () => {
    const s = await server();
    const me = newUserId();
    const socket = await socketOf(s, me);
    const n = DEFAULT_CONVERSATION_LIMITS.perWindow + 10;
    const others = Array.from({ length: n }, () => newUserId());
    const ack = await push(socket, {
      collection: 'conversations',
      rows: others.map((o) => ({ newDocumentState: draftConversation(me, o) })),
    });
    expect(ack.rejected).toHaveLength(10);
    for (const r of ack.rejected) expect(r.code).toBe('RATE_LIMITED');
    expect(await s.store.listConversations(me)).toHaveLength(DEFAULT_CONVERSATION_LIMITS.perWindow);

    const rest = await api(s, 'POST', '/api/messages/conversations', tokenFor(me), { participantId: newUserId() });
    expect(rest.status).toBe(429);
    expect(rest.body.error.code).toBe('RATE_LIMITED');
    // Re-opening an existing conversation is not a new one: never limited.
    const again = await api(s, 'POST', '/api/messages/conversations', tokenFor(me), { participantId: others[0] });
    expect(again.status).toBeLessThan(300);
  });

  it('normal use never meets a limit; a reply frees the pair', async () => {
    const s = await server();
    const [me, friend] = [newUserId(), newUserId()];
    const meSocket = await socketOf(s, me);
    const friendSocket = await socketOf(s, friend);
    // A few new contacts, re-opened many times.
    for (let i = 0; i < 3; i++) {
      const other = newUserId();
      for (let j = 0; j < 5; j++) {
        const res = await api(s, 'POST', '/api/messages/conversations', tokenFor(me), { participantId: other });
        expect(res.status).toBeLessThan(300);
      }
    }
    // Five conversations about five jobs with the same person, who has not answered yet.
    const jobs = Array.from({ length: DEFAULT_CONVERSATION_LIMITS.unansweredPerPair + 1 }, (_, i) =>
      draftConversation(me, friend, `j${i}`),
    );
    const first = await push(meSocket, { collection: 'conversations', rows: jobs.slice(0, -1).map((c) => ({ newDocumentState: c })) });
    expect(first.rejected).toEqual([]);
    const sixth = await push(meSocket, { collection: 'conversations', rows: [{ newDocumentState: jobs.at(-1) }] });
    expect(sixth.rejected.map((r: { code: string }) => r.code)).toEqual(['CONVERSATION_LIMIT']);
    // The friend answers in one of them: that one no longer counts.
    const reply = await push(friendSocket, {
      collection: 'messages',
      rows: [{ newDocumentState: draftMessage(jobs[0]!.id, friend, me, 'hi!') }],
    });
    expect(reply.rejected).toEqual([]);
    const retried = await push(meSocket, { collection: 'conversations', rows: [{ newDocumentState: jobs.at(-1) }] });
    expect(retried.rejected).toEqual([]);
    // Messages in existing conversations are never limited by this.
    const msg = await push(meSocket, { collection: 'messages', rows: [{ newDocumentState: draftMessage(jobs[1]!.id, me, friend, 'x') }] });
    expect(msg.rejected).toEqual([]);
  });
});
