import 'fake-indexeddb/auto';
import { conversationIdFor, type NotificationSettings, newMessageId, sortedParticipants } from '@fetchwork/shared-schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newUserId, startTestServer, type TestServer, tokenFor } from '../../sync-server/test/support/test-server';
import {
  applyPending,
  DEFAULT_SETTINGS,
  type KeyValueStorage,
  NotificationSettingsSync,
  noPending,
  pendingPatches,
  settle,
  withChange,
} from '../src/notifications/settings';
import { drainOutbox, RetryLater } from '../src/sw/background-send';
import { notificationFor, parsePushPayload } from '../src/sw/notification-options';
import { byConversation, type MirroredMessage, openOutboxMirror } from '../src/sw/outbox-mirror';

function memoryStorage(): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('notification settings', () => {
  const server: NotificationSettings = { previews: 'full', muted: ['c.a.b'], updatedAt: '2026-01-01T00:00:00.000Z' };

  it('shows pending changes over the server state, last change per setting winning', () => {
    let p = withChange(noPending(), { mute: { conversationId: 'c.a.c', muted: true } });
    p = withChange(p, { mute: { conversationId: 'c.a.b', muted: false } });
    p = withChange(p, { previews: 'private' });
    p = withChange(p, { mute: { conversationId: 'c.a.c', muted: false } });
    expect(applyPending(server, p)).toEqual({ previews: 'private', muted: [], updatedAt: server.updatedAt });
    expect(pendingPatches(p)).toEqual([
      { previews: 'private' },
      { mute: { conversationId: 'c.a.c', muted: false } },
      { mute: { conversationId: 'c.a.b', muted: false } },
    ]);
    // A sent change stays pending if the user changed it again meanwhile.
    expect(settle(p, { mute: { conversationId: 'c.a.c', muted: true } }).mutes['c.a.c']).toBe(false);
    expect(settle(p, { mute: { conversationId: 'c.a.c', muted: false } }).mutes['c.a.c']).toBeUndefined();
    expect(applyPending(server, noPending())).toBe(server);
  });

  it('applies an offline change at once, keeps it across a reload and sends it when the server answers', async () => {
    const storage = memoryStorage();
    let online = false;
    const sent: unknown[] = [];
    let state: NotificationSettings = { ...DEFAULT_SETTINGS, updatedAt: '2026-01-01T00:00:00.000Z' };
    const fakeFetch = (async (_url: string, init?: RequestInit) => {
      if (!online) throw new TypeError('Failed to fetch');
      if (init?.method === 'PATCH') {
        const patch = JSON.parse(String(init.body)) as { previews?: 'full' | 'private'; mute?: { conversationId: string; muted: boolean } };
        sent.push(patch);
        const muted = new Set(state.muted);
        if (patch.mute) patch.mute.muted ? muted.add(patch.mute.conversationId) : muted.delete(patch.mute.conversationId);
        state = {
          previews: patch.previews ?? state.previews,
          muted: [...muted],
          updatedAt: new Date(Date.parse(state.updatedAt) + 1000).toISOString(),
        };
      }
      return json(200, { data: state });
    }) as typeof fetch;
    const options = { userId: 'u1', apiUrl: 'http://api', getToken: () => 'token', storage, fetch: fakeFetch };

    const first = new NotificationSettingsSync(options);
    const seen: NotificationSettings[] = [];
    const sub = first.settings$.subscribe((s) => seen.push(s));
    await first.change({ mute: { conversationId: 'c.x.y', muted: true } });
    await first.change({ previews: 'private' });
    expect(first.current()).toMatchObject({ previews: 'private', muted: ['c.x.y'] });
    expect(seen.at(-1)).toMatchObject({ previews: 'private', muted: ['c.x.y'] });
    expect(sent).toEqual([]);
    sub.unsubscribe();

    // A reload while still offline: the pending changes come back from storage.
    const second = new NotificationSettingsSync(options);
    expect(second.current()).toMatchObject({ previews: 'private', muted: ['c.x.y'] });

    online = true;
    await second.refresh();
    expect(sent).toEqual([{ previews: 'private' }, { mute: { conversationId: 'c.x.y', muted: true } }]);
    expect(second.current()).toEqual(state);
    expect(storage.data.has(second.storageKeys().pending)).toBe(false);
    // The server's state is kept for an offline start.
    expect(new NotificationSettingsSync(options).current()).toEqual(state);
  });

  it('keeps the newer server state when answers arrive out of order, and drops a change the server refuses', async () => {
    const storage = memoryStorage();
    const fakeFetch = (async () => json(400, { error: { code: 'VALIDATION_FAILED', message: 'no' } })) as unknown as typeof fetch;
    const sync = new NotificationSettingsSync({ userId: 'u2', apiUrl: 'http://api', getToken: () => 'token', storage, fetch: fakeFetch });
    sync.receive({ previews: 'private', muted: [], updatedAt: '2026-01-02T00:00:00.000Z' });
    sync.receive({ previews: 'full', muted: [], updatedAt: '2026-01-01T00:00:00.000Z' });
    expect(sync.current().previews).toBe('private');
    await sync.change({ mute: { conversationId: 'c.bad', muted: true } });
    expect(sync.current().muted).toEqual([]);
  });
});

describe('push payload → notification', () => {
  const base = {
    kind: 'message',
    conversationId: 'c.64b000000000000000000b11.64b000000000000000000b22',
    messageId: newMessageId(),
    senderName: 'Alice Client',
    preview: 'Can you start Monday?',
    unread: 1,
    sentAt: '2026-02-03T10:00:00.000Z',
  } as const;

  it('one notification per conversation, with the preview or "New message"', () => {
    const one = notificationFor(base);
    expect(one.title).toBe('Alice Client');
    expect(one.options).toMatchObject({
      body: 'Can you start Monday?',
      tag: base.conversationId,
      renotify: true,
      icon: '/pwa-192x192.png',
      timestamp: Date.parse(base.sentAt),
      data: { conversationId: base.conversationId, messageId: base.messageId },
    });
    expect(notificationFor({ ...base, preview: null }).options.body).toBe('New message');
    expect(notificationFor({ ...base, preview: null, unread: 3 }).options.body).toBe('3 new messages');
    expect(notificationFor({ ...base, unread: 2 }).options.body).toBe('2 new messages\nCan you start Monday?');
  });

  it('accepts only payloads of the contract', () => {
    expect(parsePushPayload(base)).toEqual(base);
    expect(parsePushPayload({ kind: 'clear', conversationId: base.conversationId })).toEqual({
      kind: 'clear',
      conversationId: base.conversationId,
    });
    expect(parsePushPayload({ ...base, token: 'x' })).toBeNull();
    expect(parsePushPayload({ ...base, unread: 0 })).toBeNull();
    expect(parsePushPayload({ ...base, conversationId: 'not an id' })).toBeNull();
    expect(parsePushPayload('hello')).toBeNull();
    expect(parsePushPayload(null)).toBeNull();
  });
});

const entry = (conversationId: string, content: string, createdAt: string, other = 'p'): MirroredMessage => ({
  id: newMessageId(),
  conversationId,
  participantId: other,
  jobId: null,
  content,
  messageType: 'text',
  createdAt,
});

describe('outbox mirror', () => {
  it('stores, edits and removes entries; groups them per conversation in creation order', async () => {
    const mirror = await openOutboxMirror(`mirror-${Math.random()}`);
    const a2 = entry('c.a', 'a2', '2026-01-01T00:00:02.000Z');
    const b1 = entry('c.b', 'b1', '2026-01-01T00:00:01.500Z');
    const a1 = entry('c.a', 'a1', '2026-01-01T00:00:01.000Z');
    for (const e of [a2, b1, a1]) await mirror.put(e);
    await mirror.updateContent(a2.id, 'a2 edited');
    await mirror.updateContent('not-there', 'x');
    expect((await mirror.all()).map((e) => e.content)).toEqual(['a1', 'b1', 'a2 edited']);
    expect(byConversation(await mirror.all()).map((g) => g.map((e) => e.content))).toEqual([['a1', 'a2 edited'], ['b1']]);
    await mirror.remove([a1.id, b1.id]);
    expect((await mirror.all()).map((e) => e.id)).toEqual([a2.id]);
    mirror.close();
  });
});

describe('background send (drainOutbox)', () => {
  it('sends in order per conversation, removes what was stored, keeps the rest on a network failure', async () => {
    const mirror = await openOutboxMirror(`mirror-${Math.random()}`);
    const a1 = entry('c.a', 'a1', '2026-01-01T00:00:01.000Z');
    const a2 = entry('c.a', 'a2', '2026-01-01T00:00:02.000Z');
    const b1 = entry('c.b', 'b1', '2026-01-01T00:00:03.000Z');
    for (const e of [a2, b1, a1]) await mirror.put(e);
    const posted: string[] = [];
    let failAt = 'b1';
    const fakeFetch = (async (_url: string, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body)) as { id: string; content: string };
      if (body.content === failAt) throw new TypeError('Failed to fetch');
      posted.push(body.content);
      return json(201, { data: { id: body.id } });
    }) as typeof fetch;
    await expect(
      drainOutbox({ apiUrl: 'http://api', session: { token: 't', userId: 'u' }, mirror, fetch: fakeFetch }),
    ).rejects.toBeInstanceOf(RetryLater);
    expect(posted).toEqual(['a1', 'a2']);
    expect((await mirror.all()).map((e) => e.content)).toEqual(['b1']);
    failAt = '';
    expect(await drainOutbox({ apiUrl: 'http://api', session: { token: 't', userId: 'u' }, mirror, fetch: fakeFetch })).toEqual({
      kind: 'drained',
      sent: [b1.id],
      refused: [],
    });
    expect(await mirror.all()).toEqual([]);
    mirror.close();
  });

  it('stops a conversation at a refusal, and ends as unauthorized on 401', async () => {
    const mirror = await openOutboxMirror(`mirror-${Math.random()}`);
    const a1 = entry('c.a', 'a1', '2026-01-01T00:00:01.000Z');
    const a2 = entry('c.a', 'a2', '2026-01-01T00:00:02.000Z');
    const b1 = entry('c.b', 'b1', '2026-01-01T00:00:03.000Z');
    for (const e of [a1, a2, b1]) await mirror.put(e);
    let status = 403;
    const fakeFetch = (async (_url: string, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body)) as { content: string };
      return body.content === 'a1' ? json(status, { error: { code: 'FORBIDDEN', message: 'no' } }) : json(201, { data: {} });
    }) as typeof fetch;
    const session = { token: 't', userId: 'u' };
    expect(await drainOutbox({ apiUrl: 'http://api', session, mirror, fetch: fakeFetch })).toEqual({
      kind: 'drained',
      sent: [b1.id],
      refused: [a1.id],
    });
    expect((await mirror.all()).map((e) => e.content)).toEqual(['a1', 'a2']);
    status = 401;
    expect(await drainOutbox({ apiUrl: 'http://api', session, mirror, fetch: fakeFetch })).toEqual({ kind: 'unauthorized', sent: [] });
    mirror.close();
  });

  describe('against the real server', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer();
    });
    afterAll(async () => {
      await server?.close();
    });

    it('creates a conversation the server never saw, and two drains at once store each message once', async () => {
      const me = newUserId();
      const other = newUserId();
      const token = tokenFor(me);
      const conversationId = conversationIdFor(sortedParticipants([me, other]), null);
      const messages = [1, 2, 3].map((i) => entry(conversationId, `offline ${i}`, `2026-01-01T00:00:0${i}.000Z`, other));
      // Two mirrors with the same entries: a page and the worker draining the same outbox.
      const mirrors = await Promise.all([openOutboxMirror(`mirror-${Math.random()}`), openOutboxMirror(`mirror-${Math.random()}`)]);
      for (const m of mirrors) for (const e of messages) await m.put(e);
      const results = await Promise.all(
        mirrors.map((mirror) => drainOutbox({ apiUrl: server.url, session: { token, userId: me }, mirror })),
      );
      expect(results).toEqual(mirrors.map(() => ({ kind: 'drained', sent: messages.map((m) => m.id), refused: [] })));
      const res = await fetch(`${server.url}/api/messages/conversations/${encodeURIComponent(conversationId)}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const stored = ((await res.json()) as { data: { id: string; content: string }[] }).data;
      expect(stored.map((m) => m.content)).toEqual(['offline 1', 'offline 2', 'offline 3']);
      expect(new Set(stored.map((m) => m.id))).toEqual(new Set(messages.map((m) => m.id)));
      for (const m of mirrors) {
        expect(await m.all()).toEqual([]);
        m.close();
      }
    });

    it('an expired token (the legacy routes answer 403 "Invalid token") ends the drain as unauthorized, keeping every message', async () => {
      const me = newUserId();
      const conversationId = conversationIdFor(sortedParticipants([me, newUserId()]), null);
      const mirror = await openOutboxMirror(`mirror-${Math.random()}`);
      const messages = [1, 2].map((i) => entry(conversationId, `while asleep ${i}`, `2026-01-01T00:00:0${i}.000Z`));
      for (const e of messages) await mirror.put(e);
      const expired = tokenFor(me, { expiresInSeconds: -60 });
      expect(await drainOutbox({ apiUrl: server.url, session: { token: expired, userId: me }, mirror })).toEqual({
        kind: 'unauthorized',
        sent: [],
      });
      expect((await mirror.all()).map((m) => m.id).sort()).toEqual(messages.map((m) => m.id).sort());
      mirror.close();
    });
  });
});
