/**
 * Two findings of the security review (issue 14, part 5), over the real server:
 * - marking a big conversation read works through it in bounded chunks with yields, so another
 *   user's request is served while it runs (ordering, not timing: what the mark-read had loaded
 *   when the other request was served, and which answer came first);
 * - event rate limits hold per user too, across that user's sockets on the instance.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';
import { USER_EVENTS_PER_SOCKET_BUDGET } from '../src/realtime/rate-limits';
import { SqliteStore } from '../src/store/sqlite-store';
import { draftConversation, draftMessage } from './support/docs';
import { api, type ClientSocket, connect, newUserId, pull, push, startTestServer, type TestServer, tokenFor } from './support/test-server';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function socketOf(server: TestServer, userId: string): Promise<ClientSocket> {
  const socket = await connect(server.url, tokenFor(userId));
  cleanups.push(() => socket.close());
  return socket;
}

/** The store with a probe: what a conversation's listing loaded, and when a user's pull was served. */
class ProbedStore extends SqliteStore {
  conversation = '';
  watchedUser = '';
  onFirstListing: (() => void) | null = null;
  loaded = 0;
  loadedWhenPulled: number | null = null;

  override async listMessages(conversationId: string, options: { limit: number; beforeSeq?: number }) {
    const out = await super.listMessages(conversationId, options);
    if (conversationId === this.conversation) {
      this.loaded += out.length;
      const first = this.onFirstListing;
      this.onFirstListing = null;
      first?.();
    }
    return out;
  }

  // The read a pull's answer uses.
  override async pullFeedTexts(userId: string, collection: Parameters<SqliteStore['pullFeed']>[1], afterSeq: number, limit: number) {
    if (userId === this.watchedUser && this.loadedWhenPulled === null) this.loadedWhenPulled = this.loaded;
    return super.pullFeedTexts(userId, collection, afterSeq, limit);
  }
}

describe('marking a big conversation read does not stall the process', () => {
  it('another user’s pull is served while 5,000 messages are marked read; afterwards every one is read', async () => {
    let store!: ProbedStore;
    const server = await startTestServer({
      store: (path) => {
        store = new ProbedStore({ path });
        return store;
      },
    });
    cleanups.push(() => server.stop());
    const reader = newUserId();
    const sender = newUserId();
    const other = newUserId();
    const senderSocket = await socketOf(server, sender);
    const readerSocket = await socketOf(server, reader);
    const otherSocket = await socketOf(server, other);
    const conv = draftConversation(reader, sender);
    expect(await push(senderSocket, { collection: 'conversations', rows: [{ newDocumentState: conv }] })).toEqual({
      conflicts: [],
      rejected: [],
    });
    const total = 5000;
    for (let i = 0; i < total / 200; i++) {
      const rows = Array.from({ length: 200 }, (_, k) => ({ newDocumentState: draftMessage(conv.id, sender, reader, `m ${i}.${k}`) }));
      expect(await push(senderSocket, { collection: 'messages', rows })).toEqual({ conflicts: [], rejected: [] });
    }
    const token = tokenFor(reader);
    expect((await api(server, 'GET', '/api/messages/unread-count', token)).body).toEqual({ data: { count: total } });

    // The other user's pull leaves the moment the mark-read starts loading the conversation.
    const order: string[] = [];
    let otherPull: Promise<unknown> | null = null;
    store.conversation = conv.id;
    store.watchedUser = other;
    store.onFirstListing = () => {
      otherPull = pull(otherSocket, { collection: 'messages', checkpoint: null, batchSize: 10 }).then((answer) => {
        order.push('other pull');
        return answer;
      });
    };
    const marked = await api(server, 'POST', `/api/messages/conversations/${encodeURIComponent(conv.id)}/read`, token).then((res) => {
      order.push('mark read');
      return res;
    });
    expect(otherPull).not.toBeNull();
    expect(await otherPull).toEqual({ documents: [], checkpoint: { seq: 0 } });

    expect(marked).toEqual({ status: 200, body: { data: { updated: total } } });
    // Served after at most one chunk of the conversation was loaded, not after all of it.
    expect(store.loadedWhenPulled).not.toBeNull();
    expect(store.loadedWhenPulled!).toBeLessThanOrEqual(500);
    expect(order).toEqual(['other pull', 'mark read']);

    // Same outcome as before: every message read, counts at 0, the receipts reached the sender's
    // replica, and doing it again changes nothing.
    expect((await api(server, 'GET', '/api/messages/unread-count', token)).body).toEqual({ data: { count: 0 } });
    const [stored] = await server.store.getDocs('conversations', [conv.id]);
    expect(stored?.unreadCount[reader]).toBe(0);
    const seen = new Map<string, any>();
    for (let checkpoint = null as unknown; ; ) {
      const page = await pull(senderSocket, { collection: 'messages', checkpoint, batchSize: 1000 });
      for (const d of page.documents) seen.set(d.id, d);
      if (page.documents.length === 0) break;
      checkpoint = page.checkpoint;
    }
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((m) => m.isRead && m.readAt !== null)).toBe(true);
    expect(await api(server, 'POST', `/api/messages/conversations/${encodeURIComponent(conv.id)}/read`, token)).toEqual({
      status: 200,
      body: { data: { updated: 0 } },
    });
    void readerSocket;
  }, 60_000);

  it('bulk read and delete of 500 ids: every visible one changed, foreign ones NOT_FOUND', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.stop());
    const reader = newUserId();
    const sender = newUserId();
    const senderSocket = await socketOf(server, sender);
    const conv = draftConversation(reader, sender);
    await push(senderSocket, { collection: 'conversations', rows: [{ newDocumentState: conv }] });
    const messages = Array.from({ length: 500 }, (_, i) => draftMessage(conv.id, sender, reader, `b ${i}`));
    for (let i = 0; i < messages.length; i += 200) {
      const rows = messages.slice(i, i + 200).map((m) => ({ newDocumentState: m }));
      expect(await push(senderSocket, { collection: 'messages', rows })).toEqual({ conflicts: [], rejected: [] });
    }
    const ids = messages.map((m) => m.id);
    const read = await api(server, 'POST', '/api/messages/bulk', tokenFor(reader), { action: 'read', messageIds: ids });
    expect(read.status).toBe(200);
    expect(read.body.data.updated).toHaveLength(500);
    expect(read.body.data.updated.every((m: any) => m.isRead)).toBe(true);
    expect((await api(server, 'GET', '/api/messages/unread-count', tokenFor(reader))).body).toEqual({ data: { count: 0 } });
    const stranger = await api(server, 'POST', '/api/messages/bulk', tokenFor(newUserId()), {
      action: 'delete',
      messageIds: ids.slice(0, 3),
    });
    expect(stranger.body.data.rejected.map((r: any) => r.code)).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
    const deleted = await api(server, 'POST', '/api/messages/bulk', tokenFor(sender), { action: 'delete', messageIds: ids });
    expect(deleted.body.data.updated).toHaveLength(500);
    expect(deleted.body.data.updated.every((m: any) => m.isDeleted && m.content === '')).toBe(true);
  }, 60_000);
});

describe('event rate per user across its sockets', () => {
  it('a user whose sockets each stay under their own budget is limited per user; another user is not', async () => {
    const server = await startTestServer({ rateLimits: { socketEventsPerSecond: 10, userEventsPerSecond: 20 } });
    cleanups.push(() => server.stop());
    const user = newUserId();
    const sockets = await Promise.all(Array.from({ length: 5 }, () => socketOf(server, user)));
    const bystander = await socketOf(server, newUserId());
    const pullOf = (s: ClientSocket) =>
      (s.timeout(10_000) as any).emitWithAck('sync:pull', { collection: 'messages', checkpoint: null, batchSize: 1 }) as Promise<any>;

    // 5 sockets × 8 events: each under its 10, together 40 over the user's 20.
    const [answers, bystanderAnswers] = await Promise.all([
      Promise.all(sockets.flatMap((s) => Array.from({ length: 8 }, () => pullOf(s)))),
      Promise.all(Array.from({ length: 8 }, () => pullOf(bystander))),
    ]);
    const limited = answers.filter((a) => a.error?.code === 'RATE_LIMITED');
    const served = answers.filter((a) => Array.isArray(a.documents));
    expect(limited.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThan(0);
    expect(served.length).toBeLessThanOrEqual(20);
    expect(limited.length + served.length).toBe(answers.length);
    expect(limited[0].error.message).toBeTypeOf('string');
    expect(bystanderAnswers.every((a) => Array.isArray(a.documents))).toBe(true);
    const userScope = (await server.metrics.rateLimited.get()).values.find((v) => v.labels.scope === 'user')?.value ?? 0;
    expect(userScope).toBe(limited.length);
  });

  it('RATE_LIMIT_USER_EVENTS_PER_SECOND: default 3× the socket budget, validated', () => {
    expect(loadConfig({}).rateLimits).toMatchObject({ socketEventsPerSecond: 100, userEventsPerSecond: 300 });
    expect(loadConfig({ RATE_LIMIT_SOCKET_EVENTS_PER_SECOND: '40' }).rateLimits).toMatchObject({ userEventsPerSecond: 120 });
    expect(USER_EVENTS_PER_SOCKET_BUDGET).toBe(3);
    expect(loadConfig({ RATE_LIMIT_USER_EVENTS_PER_SECOND: '250' }).rateLimits).toMatchObject({ userEventsPerSecond: 250 });
    expect(() => loadConfig({ RATE_LIMIT_USER_EVENTS_PER_SECOND: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ RATE_LIMIT_USER_EVENTS_PER_SECOND: 'many' })).toThrow(/RATE_LIMIT_USER_EVENTS_PER_SECOND/);
    // Below the socket budget a single socket could never use its own: refused.
    expect(() => loadConfig({ RATE_LIMIT_SOCKET_EVENTS_PER_SECOND: '100', RATE_LIMIT_USER_EVENTS_PER_SECOND: '50' })).toThrow(
      /RATE_LIMIT_USER_EVENTS_PER_SECOND/,
    );
  });
});
