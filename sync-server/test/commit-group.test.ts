import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuthUser } from '../src/auth/tokens';
import { createLogger } from '../src/logger';
import { SqliteStore } from '../src/store/sqlite-store';
import { type ChangeEvent, LocalChangeBus } from '../src/sync/change-bus';
import { SyncService } from '../src/sync/sync-service';
import { draftConversation, draftMessage } from './support/docs';
import {
  type ClientSocket,
  collectStream,
  connect,
  newUserId,
  pull,
  push,
  startTestServer,
  type TestServer,
  tokenFor,
  waitFor,
} from './support/test-server';
import { threeUsers } from './support/two-users';

const asUser = (id: string): AuthUser => ({ id, name: null, email: null, expiresAt: null, sessionId: null });
const log = createLogger('silent');

describe('commit groups on a running server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  const stats = () => ({ ...(server.store as SqliteStore).commitStats });

  it('a commit group fans out once per socket and collection, with everything it committed', async () => {
    const b = newUserId();
    const partners = Array.from({ length: 5 }, () => newUserId());
    for (const p of partners) {
      const out = await server.sync.push(asUser(p), 'conversations', [{ newDocumentState: draftConversation(p, b) }]);
      expect(out.written).toHaveLength(1);
    }
    const sockets: ClientSocket[] = [await connect(server.url, tokenFor(b)), await connect(server.url, tokenFor(b))];
    try {
      // Both of B's tabs hold their feed head, so the group continues exactly from it.
      for (const s of sockets) {
        await pull(s, { collection: 'messages', checkpoint: null, batchSize: 100 });
        await pull(s, { collection: 'conversations', checkpoint: null, batchSize: 100 });
      }
      const streams = sockets.map(collectStream);
      const before = stats();
      // Started in one turn: five pushes into five conversations, one group commit.
      const sent = partners.map((p) => draftMessage(draftConversation(p, b).id, p, b, `from ${p}`));
      const answers = await Promise.all(sent.map((m) => server.sync.push(asUser(m.sender), 'messages', [{ newDocumentState: m }])));
      expect(answers.map((a) => [a.conflicts, a.rejected, a.written.length])).toEqual(sent.map(() => [[], [], 1]));
      expect(stats().transactions - before.transactions).toBe(1);
      expect(stats().commits - before.commits).toBe(5);

      for (const events of streams) {
        await waitFor(() => events.length >= 2, 'both collections streamed');
        // Give a stray second emit the chance to arrive before counting.
        await pull(sockets[0]!, { collection: 'messages', checkpoint: null, batchSize: 1 });
        expect(events.map((e) => e.collection).sort()).toEqual(['conversations', 'messages']);
        const messages = events.find((e) => e.collection === 'messages');
        const conversations = events.find((e) => e.collection === 'conversations');
        expect(messages.resync).toBeUndefined();
        expect(messages.documents.map((d: { id: string }) => d.id).sort()).toEqual(sent.map((m) => m.id).sort());
        expect(conversations.documents).toHaveLength(5);
        const seqs = [...messages.documents, ...conversations.documents].map((d: { seq: number }) => d.seq);
        expect(messages.checkpoint.seq).toBe(Math.max(...messages.documents.map((d: { seq: number }) => d.seq)));
        expect(new Set(seqs).size).toBe(10);
        expect(messages.documents.every((d: { sentAt: string | null }) => d.sentAt !== null)).toBe(true);
      }
    } finally {
      for (const s of sockets) s.close();
    }
  });

  it('a message streamed to its sender’s tab and its recipient’s two tabs is encoded once per collection, and all three get the same frame', async () => {
    const [a, b] = [newUserId(), newUserId()];
    const conv = draftConversation(a, b);
    expect((await server.sync.push(asUser(a), 'conversations', [{ newDocumentState: conv }])).written).toHaveLength(1);
    const sockets = [
      await connect(server.url, tokenFor(a)),
      await connect(server.url, tokenFor(b)),
      await connect(server.url, tokenFor(b)),
    ];
    const encodings = vi.spyOn(JSON, 'stringify');
    try {
      for (const s of sockets) {
        await pull(s, { collection: 'messages', checkpoint: null, batchSize: 100 });
        await pull(s, { collection: 'conversations', checkpoint: null, batchSize: 100 });
      }
      // The raw Socket.io packets each socket receives, before the client decodes them.
      const frames = sockets.map((s) => {
        const seen: string[] = [];
        (s.io as any).engine.on('packet', (p: { type: string; data?: unknown }) => {
          if (p.type === 'message' && typeof p.data === 'string' && p.data.startsWith('2["sync:stream"')) seen.push(p.data);
        });
        return seen;
      });
      const streams = sockets.map(collectStream);
      encodings.mockClear();
      const m = draftMessage(conv.id, a, b, 'once');
      expect(await push(sockets[0]!, { collection: 'messages', rows: [{ newDocumentState: m }] })).toEqual({ conflicts: [], rejected: [] });
      for (const events of streams) await waitFor(() => events.length >= 2, 'both collections streamed');
      const streamEncodings = encodings.mock.calls.filter(([value]) => Array.isArray(value) && value[0] === 'sync:stream');
      expect(streamEncodings).toHaveLength(2);
      expect(frames[1]).toEqual(frames[0]);
      expect(frames[2]).toEqual(frames[0]);
      const messages = streams[1]!.find((e) => e.collection === 'messages');
      expect(messages.documents).toEqual([expect.objectContaining({ id: m.id, content: 'once', _deleted: false })]);
      expect(messages.checkpoint).toEqual({ seq: messages.documents[0].seq });
    } finally {
      encodings.mockRestore();
      for (const s of sockets) s.close();
    }
  });

  it('a push over the socket gets its ack and its streams; a socket that is not positioned gets a resync', async () => {
    const { a, b, conversationId, close } = await threeUsers(server);
    try {
      await pull(a.socket, { collection: 'messages', checkpoint: null, batchSize: 10 });
      const aStream = collectStream(a.socket);
      const bStream = collectStream(b.socket);
      const m = draftMessage(conversationId, a.id, b.id, 'hello');
      expect(await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: m }] })).toEqual({ conflicts: [], rejected: [] });
      await waitFor(() => aStream.some((e) => e.collection === 'messages'), 'the sender’s echo');
      expect(aStream.find((e) => e.collection === 'messages').documents[0]).toMatchObject({ id: m.id, content: 'hello' });
      // B never pulled messages: it cannot take documents at an unknown position.
      await waitFor(() => bStream.some((e) => e.collection === 'messages'), 'the recipient’s signal');
      expect(bStream.find((e) => e.collection === 'messages')).toEqual({ collection: 'messages', resync: true });
    } finally {
      close();
    }
  });

  it('receipts: one commit for the request, no conversation rewrite, streamed to the two participants and never to a third user', async () => {
    const { a, b, c, conversationId, close } = await threeUsers(server);
    try {
      // C shares another conversation with A, so C is a contact of A's, not of this conversation.
      const other = draftConversation(a.id, c.id);
      expect((await push(c.socket, { collection: 'conversations', rows: [{ newDocumentState: other }] })).rejected).toEqual([]);
      const sent = ['one', 'two', 'three'].map((t) => draftMessage(conversationId, a.id, b.id, t));
      await push(a.socket, { collection: 'messages', rows: sent.map((m) => ({ newDocumentState: m })) });
      for (const p of [a, b, c]) {
        await pull(p.socket, { collection: 'messages', checkpoint: null, batchSize: 100 });
        await pull(p.socket, { collection: 'conversations', checkpoint: null, batchSize: 100 });
      }
      const streams = { a: collectStream(a.socket), b: collectStream(b.socket), c: collectStream(c.socket) };
      const before = stats();
      const ids = sent.map((m) => m.id);
      expect(await (b.socket.timeout(5000) as any).emitWithAck('messages:delivered', { ids })).toEqual({ delivered: 3, rejected: [] });
      expect(stats().commits - before.commits).toBe(1);
      for (const events of [streams.a, streams.b]) {
        await waitFor(() => events.length > 0, 'the receipt streamed');
        expect(events).toHaveLength(1);
        expect(events[0].collection).toBe('messages');
        expect(events[0].documents.map((d: { id: string }) => d.id).sort()).toEqual([...ids].sort());
        expect(events[0].documents.every((d: { deliveredAt: string | null }) => d.deliveredAt !== null)).toBe(true);
      }
      // A round trip on C's own socket: anything sent to it before would have arrived first.
      await pull(c.socket, { collection: 'messages', checkpoint: null, batchSize: 1 });
      expect(streams.c).toEqual([]);
      expect(await (c.socket.timeout(5000) as any).emitWithAck('messages:delivered', { ids })).toEqual({
        delivered: 0,
        rejected: ids.map((id) => ({ id, code: 'NOT_FOUND', message: 'message not found' })),
      });
      // Repeating the receipt changes nothing and streams nothing.
      expect(await (b.socket.timeout(5000) as any).emitWithAck('messages:delivered', { ids })).toEqual({ delivered: 0, rejected: [] });
      await pull(a.socket, { collection: 'conversations', checkpoint: null, batchSize: 1 });
      expect(streams.a).toHaveLength(1);
    } finally {
      close();
    }
  });
});

describe('commit groups across instances', () => {
  it('pushes of two instances in one group: the one that loses the compare-and-set retries, and every row is answered', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const bus = new LocalChangeBus();
    const events: ChangeEvent[] = [];
    bus.subscribe((e) => events.push(e));
    // Two services on one store: each has its own per-conversation lock, as two server instances do.
    const one = new SyncService(store, bus, log);
    const two = new SyncService(store, bus, log);
    const [a, b] = [newUserId(), newUserId()];
    const conv = draftConversation(a, b);
    await one.push(asUser(a), 'conversations', [{ newDocumentState: conv }]);
    const fromB = draftMessage(conv.id, b, a, 'from b');
    await one.push(asUser(b), 'messages', [{ newDocumentState: fromB }]);
    const [storedFromB] = await store.getDocs('messages', [fromB.id]);
    const head = await store.headSeq();
    const before = { ...store.commitStats };

    const m1 = draftMessage(conv.id, a, b, 'first');
    const m2 = draftMessage(conv.id, a, b, 'second');
    const forbidden = { ...storedFromB!, _deleted: false, content: 'not yours to edit' };
    const [r1, r2] = await Promise.all([
      one.push(asUser(a), 'messages', [{ newDocumentState: m1 }]),
      two.push(asUser(a), 'messages', [
        { newDocumentState: m2 },
        { assumedMasterState: { ...storedFromB!, _deleted: false }, newDocumentState: forbidden },
      ]),
    ]);
    expect(r1).toMatchObject({ conflicts: [], rejected: [], noops: 0 });
    expect(r1.written.map((m) => m.id)).toEqual([m1.id]);
    expect(r2.written.map((m) => m.id)).toEqual([m2.id]);
    expect(r2.conflicts).toEqual([{ ...storedFromB, _deleted: false }]);
    expect(r2.rejected).toEqual([{ id: fromB.id, code: 'FORBIDDEN', message: 'only the sender edits a message' }]);
    // The first group held both commits; the loser rolled back alone and committed in the next.
    expect(store.commitStats.commits - before.commits).toBe(3);
    expect(store.commitStats.transactions - before.transactions).toBe(2);

    const [storedConv] = await store.getDocs('conversations', [conv.id]);
    expect(storedConv!.unreadCount[b]).toBe(2);
    expect(storedConv!.lastMessage).toBe(m2.id);
    // Two messages and two conversation writes: the rolled-back attempt left no sequence behind.
    expect(await store.headSeq()).toBe(head + 4);
    const feed = await store.pullFeed(b, 'messages', 0, 100);
    expect(feed.map((m) => m.content)).toEqual(['from b', 'first', 'second']);

    await new Promise((r) => setImmediate(r));
    const bFeeds = events.flatMap((e) => e.feeds).filter((f) => f.userId === b && f.collection === 'messages');
    // Published in commit order, each continuing from where the previous one ended.
    for (let i = 1; i < bFeeds.length; i++) expect(bFeeds[i]!.prevSeq).toBe(bFeeds[i - 1]!.docs.at(-1)!.seq);
    await store.close();
  });

  it('a conversation one instance cached and another moved: the stale copy loses the compare-and-set, the retry reads the store', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const bus = new LocalChangeBus();
    const one = new SyncService(store, bus, log);
    const two = new SyncService(store, bus, log);
    const [a, b] = [newUserId(), newUserId()];
    const conv = draftConversation(a, b);
    // `one` commits the conversation and a first message, so it holds the conversation as of then.
    await one.push(asUser(a), 'conversations', [{ newDocumentState: conv }]);
    const first = draftMessage(conv.id, a, b, 'first');
    expect((await one.push(asUser(a), 'messages', [{ newDocumentState: first }])).written).toHaveLength(1);
    // `two` moves the conversation (b's message: a's unread count and the last message change).
    const reply = draftMessage(conv.id, b, a, 'reply');
    expect((await two.push(asUser(b), 'messages', [{ newDocumentState: reply }])).written).toHaveLength(1);

    const before = { ...store.commitStats };
    const second = draftMessage(conv.id, a, b, 'second');
    const out = await one.push(asUser(a), 'messages', [{ newDocumentState: second }]);
    expect(out).toMatchObject({ conflicts: [], rejected: [], noops: 0 });
    expect(out.written.map((m) => m.id)).toEqual([second.id]);
    // Two attempts: the first on the cached conversation (rolled back), the second on the stored one.
    expect(store.commitStats.commits - before.commits).toBe(2);
    const [stored] = await store.getDocs('conversations', [conv.id]);
    expect(stored!.unreadCount).toEqual({ [a]: 1, [b]: 2 });
    expect(stored!.lastMessage).toBe(second.id);
    await store.close();
  });

  it('a creation decided without reading its id still meets a stored one: a re-push gets the stored state, a taken id is refused', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const sync = new SyncService(store, new LocalChangeBus(), log);
    const [a, b] = [newUserId(), newUserId()];
    const conv = draftConversation(a, b);
    await sync.push(asUser(a), 'conversations', [{ newDocumentState: conv }]);
    const m = draftMessage(conv.id, a, b, 'once');
    expect((await sync.push(asUser(a), 'messages', [{ newDocumentState: m }])).written).toHaveLength(1);
    const head = await store.headSeq();

    // The client lost the answer and pushes the same creation again (no assumed state): nothing is
    // stored, and the stored state comes back so its copy takes the server fields.
    const again = await sync.push(asUser(a), 'messages', [{ newDocumentState: m }]);
    expect(again).toMatchObject({ rejected: [], written: [] });
    expect(again.conflicts).toMatchObject([{ id: m.id, content: 'once', seq: head - 1 }]);
    // Another user's message under the same id, in their own conversation.
    const c = newUserId();
    const other = draftConversation(c, a);
    await sync.push(asUser(c), 'conversations', [{ newDocumentState: other }]);
    const afterConv = await store.headSeq();
    const taken = await sync.push(asUser(c), 'messages', [{ newDocumentState: { ...draftMessage(other.id, c, a, 'mine?'), id: m.id } }]);
    expect(taken.written).toEqual([]);
    expect(taken.rejected).toEqual([{ id: m.id, code: 'ID_TAKEN', message: 'this id is already used' }]);
    expect(afterConv).toBe(head + 1);
    expect(await store.headSeq()).toBe(afterConv);
    expect((await store.getDocs('messages', [m.id]))[0]!.content).toBe('once');
    await store.close();
  });
});
