/**
 * A user blocks another: the blocked user's new messages and new conversations to them are
 * refused with BLOCKED (socket and REST), presence and typing stop both ways, and unblocking
 * restores all of it. The REST routes are authenticated and validated.
 */
import { describe, expect, it } from 'vitest';
import { draftConversation, draftMessage } from './support/docs';
import { converse, newUser, presenceFixture, presenceOf, settled, typingEvents } from './support/presence';
import { api, newUserId, push, waitFor } from './support/test-server';

const { server, tab } = presenceFixture();

describe('blocks', () => {
  it('the REST routes: block, list, unblock; auth and validation', async () => {
    const s = await server();
    const [b, a] = [newUser(), newUser()];
    expect((await api(s, 'POST', `/api/blocks/${a.id}`)).status).toBe(401);
    expect((await api(s, 'POST', '/api/blocks/not.an.id', b.token)).status).toBe(400);
    expect((await api(s, 'POST', `/api/blocks/${b.id}`, b.token)).body.error.code).toBe('VALIDATION_FAILED');
    const blocked = await api(s, 'POST', `/api/blocks/${a.id}`, b.token);
    expect(blocked.status).toBe(200);
    expect((await api(s, 'POST', `/api/blocks/${a.id}`, b.token)).status).toBe(200);
    const list = await api(s, 'GET', '/api/blocks', b.token);
    expect(list.body.data.map((x: { userId: string }) => x.userId)).toEqual([a.id]);
    expect((await api(s, 'GET', '/api/blocks', a.token)).body.data).toEqual([]);
    expect((await api(s, 'DELETE', `/api/blocks/${a.id}`, b.token)).status).toBe(204);
    expect((await api(s, 'GET', '/api/blocks', b.token)).body.data).toEqual([]);
  });

  it('refuses the blocked user’s messages and new conversations, on the socket and over REST, until unblocked', async () => {
    const s = await server();
    const [a, b] = [newUser(), newUser()];
    const conv = await converse(s, a, b);
    expect((await api(s, 'POST', `/api/blocks/${a.id}`, b.token)).status).toBe(200);

    const aTab = await tab(s, a.token);
    const sent = await push(aTab.socket, {
      collection: 'messages',
      rows: [{ newDocumentState: draftMessage(conv, a.id, b.id, 'hello?') }],
    });
    expect(sent.rejected.map((r: { code: string }) => r.code)).toEqual(['BLOCKED']);
    const rest = await api(s, 'POST', `/api/messages/conversations/${encodeURIComponent(conv)}/messages`, a.token, {
      content: 'blocked over REST',
    });
    expect(rest.status).toBe(403);
    expect(rest.body.error.code).toBe('BLOCKED');
    const created = await push(aTab.socket, {
      collection: 'conversations',
      rows: [{ newDocumentState: draftConversation(a.id, b.id, 'job1') }],
    });
    expect(created.rejected.map((r: { code: string }) => r.code)).toEqual(['BLOCKED']);
    const restCreate = await api(s, 'POST', '/api/messages/conversations', a.token, { participantId: b.id, jobId: 'job2' });
    expect(restCreate.body.error.code).toBe('BLOCKED');
    // B's inbox holds nothing new.
    expect((await s.store.listConversations(b.id)).map((c) => c.id)).toEqual([conv]);
    expect(
      (await s.store.listMessages(conv, { limit: 100 })).filter((m) => m.content === 'hello?' || m.content === 'blocked over REST'),
    ).toEqual([]);
    // Someone else is not affected.
    const c = newUser();
    expect((await api(s, 'POST', '/api/messages/conversations', a.token, { participantId: c.id })).status).toBeLessThan(300);

    expect((await api(s, 'DELETE', `/api/blocks/${a.id}`, b.token)).status).toBe(204);
    const again = await push(aTab.socket, {
      collection: 'messages',
      rows: [{ newDocumentState: draftMessage(conv, a.id, b.id, 'hello again') }],
    });
    expect(again.rejected).toEqual([]);
  });

  it('presence and typing stop both ways while blocked', async () => {
    const s = await server();
    const [a, b] = [newUser(), newUser()];
    const conv = await converse(s, a, b);
    expect((await api(s, 'POST', `/api/blocks/${a.id}`, b.token)).status).toBe(200);

    const bTab = await tab(s, b.token);
    const aTab = await tab(s, a.token);
    await waitFor(() => aTab.of('presence:state').length === 1, 'A’s presence state');
    await waitFor(() => bTab.of('presence:state').length === 1, 'B’s presence state');
    expect(aTab.of('presence:state')[0].online).toEqual([]);
    const typed = await (aTab.socket.timeout(5000) as any).emitWithAck('typing:start', { conversationId: conv });
    expect(typed).toEqual({ ok: true });
    await (bTab.socket.timeout(5000) as any).emitWithAck('typing:start', { conversationId: conv });
    aTab.socket.close();
    await settled(s, bTab);
    const cTab = await tab(s, newUser().token);
    await settled(s, cTab);
    expect(presenceOf(bTab, a.id)).toEqual([]);
    expect(presenceOf(aTab, b.id)).toEqual([]);
    expect(typingEvents(bTab)).toEqual([]);
    expect(typingEvents(aTab)).toEqual([]);

    await waitFor(async () => (await s.presence.store.onlineAmong([a.id])).length === 0, 'A settled offline');
    // Unblocked: presence flows again.
    expect((await api(s, 'DELETE', `/api/blocks/${a.id}`, b.token)).status).toBe(204);
    const a2 = await tab(s, a.token);
    await waitFor(() => presenceOf(bTab, a.id).length === 1, 'B to see A online after the unblock');
    await waitFor(() => a2.of('presence:state').length === 1, 'A’s state');
    expect(a2.of('presence:state')[0].online).toEqual([b.id]);
  });

  it('a stranger cannot tell a block from a missing user id', async () => {
    const s = await server();
    const b = newUser();
    expect((await api(s, 'POST', `/api/blocks/${newUserId()}`, b.token)).status).toBe(200);
  });
});
