/**
 * Recent first over a real server, real sockets and a real SQLite file: `sync:bootstrap` (the
 * newest documents and the feed head as checkpoint), `sync:history` (the feed below, newest
 * first) and `sync:page` (one conversation's older messages). The oracle is the store's own
 * feed as `pullFeed` reads it: bootstrap + walk + live pull from the checkpoint, merged by the
 * highest seq per id (as the client merges), must equal it, also while another user writes.
 */
import { type CollectionName, type HistoryCursor, LIMITS } from '@fetchwork/shared-schema';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuthUser } from '../src/auth/tokens';
import { SqliteStore } from '../src/store/sqlite-store';
import { storeDigest } from './support/store-digest';
import {
  type ClientSocket,
  collectStream,
  connect,
  newUserId,
  pull,
  request,
  startTestServer,
  type TestServer,
  tokenFor,
  waitFor,
} from './support/test-server';

/**
 * The next read of the recent-first primitives runs `interleave` before it answers: commits land
 * between a request's first read (which must be the feed head) and the reads that follow.
 */
class InterleavingStore extends SqliteStore {
  interleave: (() => Promise<void>) | null = null;

  private async thenInterleave<T>(read: Promise<T>): Promise<T> {
    const value = await read;
    const work = this.interleave;
    this.interleave = null;
    if (work) await work();
    return value;
  }

  override feedHead(userId: string, collection: CollectionName) {
    return this.thenInterleave(super.feedHead(userId, collection));
  }
  // The reads answers use (the parsed ones go through them too).
  override feedBeforeTexts(userId: string, collection: CollectionName, beforeSeq: number, limit: number) {
    return this.thenInterleave(super.feedBeforeTexts(userId, collection, beforeSeq, limit));
  }
  override countFeedBefore(userId: string, collection: CollectionName, beforeSeq: number) {
    return this.thenInterleave(super.countFeedBefore(userId, collection, beforeSeq));
  }
  override newestMessagesTexts(conversationIds: readonly string[], perConversation: number, beforeSeq: number) {
    return this.thenInterleave(super.newestMessagesTexts(conversationIds, perConversation, beforeSeq));
  }
}

let server: TestServer;
let store: InterleavingStore;
beforeAll(async () => {
  server = await startTestServer({
    rateLimits: { socketEventsPerSecond: 1_000_000 },
    store: (path) => {
      store = new InterleavingStore({ path });
      return store;
    },
  });
});
afterAll(async () => {
  await server.stop();
});
const sockets: ClientSocket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
  store.interleave = null;
});

// The world -----------------------------------------------------------------------------------

interface User {
  id: string;
  token: string;
  auth: AuthUser;
}
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

function user(): User {
  const id = newUserId();
  // No name claim, as the auth below has none: connecting then gives the user directory no new
  // name to write into the user's conversations, so each test sees only the writes it makes.
  return { id, token: tokenFor(id, { name: '' }), auth: { id, name: null, email: null, expiresAt: null, sessionId: null } };
}
async function socketOf(u: User): Promise<ClientSocket> {
  const socket = await connect(server.url, u.token);
  sockets.push(socket);
  return socket;
}
async function conversation(a: User, b: User): Promise<string> {
  return (await server.messaging.createConversation(a.auth, b.id, null)).conversation.id;
}
async function send(from: User, conversationId: string, content: string) {
  return server.messaging.sendMessage(from.auth, conversationId, { content });
}
/** Messages alternating between the two participants. */
async function chat(a: User, b: User, conversationId: string, prefix: string, count: number) {
  const sent = [];
  for (let i = 1; i <= count; i++) sent.push(await send(i % 2 === 1 ? a : b, conversationId, `${prefix}${i}`));
  return sent;
}

/** The user's feed as the server holds it (pull's read), with the wire's `_deleted`. */
async function feedOf(u: User, collection: CollectionName): Promise<any[]> {
  return (await server.store.pullFeed(u.id, collection, 0, UNBOUNDED)).map((d) => ({ ...d, _deleted: false }));
}
const bySeqDesc = (docs: any[]) => [...docs].sort((x, y) => y.seq - x.seq);
const headOf = (docs: any[]) => Math.max(0, ...docs.map((d) => d.seq));

/** The client's merge: per id, the state with the highest seq. */
function merge(...lists: any[][]): Map<string, any> {
  const out = new Map<string, any>();
  for (const doc of lists.flat()) if ((out.get(doc.id)?.seq ?? -1) < doc.seq) out.set(doc.id, doc);
  return out;
}
const asMap = (docs: any[]) => new Map(docs.map((d) => [d.id, d]));

async function bootstrap(socket: ClientSocket, collection: CollectionName, pageSize: number, conversations?: number) {
  const answer = await request(socket, 'sync:bootstrap', {
    collection,
    pageSize,
    ...(conversations === undefined ? {} : { conversations }),
  });
  expect(answer.error, JSON.stringify(answer.error)).toBeUndefined();
  return answer as { documents: any[]; checkpoint: { seq: number } | null; history: HistoryCursor | null };
}

/**
 * `sync:history` from `cursor` until it answers null, checking each page's shape; `between`
 * runs before each request and `during` alongside it (a concurrent writer).
 */
async function walk(
  socket: ClientSocket,
  collection: CollectionName,
  cursor: HistoryCursor | null,
  limit: number,
  writer: { between?: () => Promise<void>; during?: () => Promise<void> } = {},
) {
  const docs: any[] = [];
  const cursors: HistoryCursor[] = [];
  while (cursor) {
    cursors.push(cursor);
    await writer.between?.();
    const [page] = await Promise.all([request(socket, 'sync:history', { collection, before: cursor.before, limit }), writer.during?.()]);
    expect(page.error, JSON.stringify(page.error)).toBeUndefined();
    const seqs = page.documents.map((d: any) => d.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => y - x));
    expect(seqs.every((s: number) => s < cursor!.before)).toBe(true);
    expect(page.documents.length).toBeLessThanOrEqual(limit);
    if (page.documents.length < limit) expect(page.history).toBeNull();
    else expect(page.history.before).toBe(seqs[seqs.length - 1]);
    docs.push(...page.documents);
    cursor = page.history;
  }
  return { docs, cursors };
}

async function pageThrough(socket: ClientSocket, conversationId: string, limit: number) {
  const pages: any[] = [];
  let before: number | null = null;
  do {
    const page = await request(socket, 'sync:page', { conversationId, before, limit });
    expect(page.error, JSON.stringify(page.error)).toBeUndefined();
    pages.push(page);
    before = page.before;
  } while (before !== null);
  return pages;
}

// ---------------------------------------------------------------------------------------------

describe('sync:bootstrap', () => {
  it('messages: the newest page of each recently changed conversation, the feed head as checkpoint, the walk from just above it', async () => {
    const [A, B, C, D, E] = [user(), user(), user(), user(), user()];
    const ab = await conversation(A, B);
    const be = await conversation(B, E);
    const ac = await conversation(A, C);
    await conversation(A, D);
    const abSent = await chat(A, B, ab, 'ab', 5);
    await chat(B, E, be, 'be', 3);
    await chat(A, C, ac, 'ac', 3);
    // An edit moves the oldest message to the top of its conversation's feed.
    await server.messaging.editMessage(A.auth, abSent[0]!.id, 'ab1 edited');
    // Last: its conversation's row moves one sequence past the user's message feed head.
    await send(C, ac, 'ac4');

    const answer = await bootstrap(await socketOf(A), 'messages', 2);
    const feed = await feedOf(A, 'messages');
    const expected = [ab, ac].flatMap((id) => bySeqDesc(feed.filter((m) => m.conversation === id)).slice(0, 2));
    expect(answer.documents.map((d) => d.content).sort()).toEqual(['ab1 edited', 'ab5', 'ac3', 'ac4']);
    expect(asMap(answer.documents)).toEqual(asMap(expected));
    expect(answer.checkpoint).toEqual({ seq: headOf(feed) });
    expect(answer.history).toEqual({ before: headOf(feed) + 1, remaining: feed.length });
    expect(feed).toHaveLength(9);
    const reads = (await server.metrics.historyReads.get()).values;
    expect(reads.find((v) => v.labels.event === 'sync:bootstrap' && v.labels.collection === 'messages')?.value).toBeGreaterThan(0);
  });

  it('messages with `conversations`: pages only for that many of the most recently active conversations; the walk still covers all', async () => {
    const [A, B, C, D] = [user(), user(), user(), user()];
    const ab = await conversation(A, B);
    const ac = await conversation(A, C);
    const ad = await conversation(A, D);
    await chat(A, B, ab, 'ab', 3);
    await chat(A, D, ad, 'ad', 3);
    await chat(A, C, ac, 'ac', 3);

    const socket = await socketOf(A);
    const feed = await feedOf(A, 'messages');
    const one = await bootstrap(socket, 'messages', 2, 1);
    expect(one.documents.map((d) => d.content).sort()).toEqual(['ac2', 'ac3']);
    expect(one.history).toEqual({ before: headOf(feed) + 1, remaining: feed.length });
    const two = await bootstrap(socket, 'messages', 2, 2);
    expect(two.documents.map((d) => d.content).sort()).toEqual(['ac2', 'ac3', 'ad2', 'ad3']);
    const all = await bootstrap(socket, 'messages', 2);
    expect(all.documents.map((d) => d.content).sort()).toEqual(['ab2', 'ab3', 'ac2', 'ac3', 'ad2', 'ad3']);
  });

  it('messages: one answer carries at most bootstrapMessagesMax messages, pages for as many of the newest conversations as fit', async () => {
    const fit = LIMITS.bootstrapMessagesMax / LIMITS.bootstrapMessagesPerConversationMax;
    const A = user();
    const others = Array.from({ length: fit + 2 }, () => user());
    const ids: string[] = [];
    for (const other of others) {
      // Each started by the other side: a user may start only so many conversations at a time.
      const id = await conversation(other, A);
      ids.push(id);
      await send(other, id, `to A from ${id}`);
    }
    // Newest first: the two that do not fit are the least recently active.
    const newest = ids.slice(2).sort();
    const socket = await socketOf(A);
    for (const conversations of [undefined, LIMITS.bootstrapConversationsMax, fit + 1]) {
      const answer = await bootstrap(socket, 'messages', LIMITS.bootstrapMessagesPerConversationMax, conversations);
      expect([...new Set(answer.documents.map((d) => d.conversation))].sort()).toEqual(newest);
      expect(answer.history?.remaining).toBe(fit + 2);
    }
    // Under the bound the request is served as asked.
    const two = await bootstrap(socket, 'messages', LIMITS.bootstrapMessagesPerConversationMax, 2);
    expect(new Set(two.documents.map((d) => d.conversation))).toEqual(new Set(ids.slice(-2)));
  });

  it('conversations: the newest pageSize by feed position; a full page says how many lie below, a short one ends the walk', async () => {
    const [A, B, C, D] = [user(), user(), user(), user()];
    const ab = await conversation(A, B);
    await conversation(A, C);
    await conversation(A, D);
    await send(B, ab, 'moves A–B up');
    const feed = bySeqDesc(await feedOf(A, 'conversations'));
    expect(feed[0].id).toBe(ab);
    const socket = await socketOf(A);

    const two = await bootstrap(socket, 'conversations', 2);
    expect(two.documents).toEqual(feed.slice(0, 2));
    expect(two.checkpoint).toEqual({ seq: feed[0].seq });
    expect(two.history).toEqual({ before: feed[1].seq, remaining: 1 });
    const three = await bootstrap(socket, 'conversations', 3);
    expect(three.documents).toEqual(feed);
    expect(three.history).toEqual({ before: feed[2].seq, remaining: 0 });
    expect((await walk(socket, 'conversations', three.history, 3)).docs).toEqual([]);
    const all = await bootstrap(socket, 'conversations', 10);
    expect(all.documents).toEqual(feed);
    expect(all.history).toBeNull();
  });

  it('an empty feed: no documents, no checkpoint, no history', async () => {
    const socket = await socketOf(user());
    for (const collection of ['messages', 'conversations'] as const) {
      expect(await bootstrap(socket, collection, 50)).toEqual({ documents: [], checkpoint: null, history: null });
    }
  });

  it('pulling from the checkpoint brings only later changes, and the stream continues from it with documents, not a resync', async () => {
    const [A, B] = [user(), user()];
    const ab = await conversation(A, B);
    await chat(A, B, ab, 'before ', 6);
    const socket = await socketOf(A);
    const messages = await bootstrap(socket, 'messages', 3);
    const conversations = await bootstrap(socket, 'conversations', 3);
    const streamed = collectStream(socket);

    const after = await send(B, ab, 'after the bootstrap');
    await waitFor(() => streamed.length >= 2, 'both collections streamed');
    expect(streamed.map((e) => [e.collection, e.resync ?? false])).toEqual([
      ['messages', false],
      ['conversations', false],
    ]);
    expect(streamed[0].documents.map((d: any) => d.id)).toEqual([after.id]);
    expect(streamed[0].checkpoint).toEqual({ seq: after.seq });

    const pulled = await pull(socket, { collection: 'messages', checkpoint: messages.checkpoint, batchSize: 100 });
    expect(pulled.documents.map((d: any) => d.id)).toEqual([after.id]);
    expect(pulled.checkpoint).toEqual({ seq: after.seq });
    const pulledConversations = await pull(socket, { collection: 'conversations', checkpoint: conversations.checkpoint, batchSize: 100 });
    expect(pulledConversations.documents.map((d: any) => [d.id, d.lastMessage])).toEqual([[ab, after.id]]);
  });
});

describe('sync:history', () => {
  it('the bootstrap and a walk to the end hold exactly the user’s feed: ids and seqs as the server has them, nothing of others', async () => {
    const [A, B, C, E] = [user(), user(), user(), user()];
    const ab = await conversation(A, B);
    const ac = await conversation(A, C);
    const be = await conversation(B, E);
    const abSent = await chat(A, B, ab, 'ab', 30);
    const foreign = await chat(B, E, be, 'be', 5);
    await chat(A, C, ac, 'ac', 12);
    for (const m of abSent.filter((_, i) => i % 7 === 0 && i % 2 === 0))
      await server.messaging.editMessage(A.auth, m.id, `${m.content} edited`);
    const socket = await socketOf(A);

    for (const [collection, pageSize, limit] of [
      ['messages', 3, 7],
      ['conversations', 1, 1],
    ] as const) {
      const feed = await feedOf(A, collection);
      const start = await bootstrap(socket, collection, pageSize);
      const { docs, cursors } = await walk(socket, collection, start.history, limit);
      expect(merge(start.documents, docs)).toEqual(asMap(feed));
      // Each cursor counts the feed below it exactly (an honest progress total).
      for (const cursor of cursors) expect(cursor.remaining, collection).toBe(feed.filter((d) => d.seq < cursor.before).length);
      if (collection === 'messages') {
        // The messages walk starts above the head: it alone covers the whole feed, once.
        expect(docs.map((d) => d.id)).toEqual(bySeqDesc(feed).map((d) => d.id));
        expect(cursors[0]).toEqual({ before: headOf(feed) + 1, remaining: feed.length });
        const theirs = new Set([be, ...foreign.map((m) => m.id)]);
        for (const d of [...start.documents, ...docs]) {
          expect([ab, ac]).toContain(d.conversation);
          expect(theirs.has(d.id)).toBe(false);
        }
      } else {
        expect([...merge(start.documents, docs).keys()].sort()).toEqual([ab, ac].sort());
      }
    }
  });

  it('with a concurrent writer nothing is missed: bootstrap + walk + live pull from the checkpoint, merged by seq, equals the final state', async () => {
    const [A, B, C, Q] = [user(), user(), user(), user()];
    // The oldest conversation and message change once, between the head read and the reads it
    // bounds, and never again: nothing later can make up for them if that change were lost.
    const quiet = await conversation(A, Q);
    const [quietMessage] = await chat(A, Q, quiet, 'quiet', 1);
    const ab = await conversation(A, B);
    const ac = await conversation(A, C);
    const mine = [...(await chat(A, B, ab, 'ab', 25)), ...(await chat(A, C, ac, 'ac', 15))].filter((m) => m.sender === A.id);
    const socket = await socketOf(A);
    let n = 0;
    /** One round of writes: an edit of an old message (it moves above the head), a new message, a read receipt. */
    const write = async () => {
      n++;
      const old = mine[(n * 7) % mine.length]!;
      await server.messaging.editMessage(A.auth, old.id, `${old.content} edit ${n}`);
      const incoming = await send(n % 2 ? B : C, n % 2 ? ab : ac, `new ${n}`);
      if (n % 3 === 0) await server.messaging.markRead(A.auth, incoming.id);
      if (n === 4) await conversation(A, user());
    };

    const results: Record<string, any[][]> = {};
    const checkpoints: Record<string, { seq: number } | null> = {};
    for (const [collection, pageSize, limit] of [
      ['messages', 4, 5],
      ['conversations', 1, 1],
    ] as const) {
      // Writes between the head read and the reads it bounds: they move documents above it.
      let movedTo = 0;
      store.interleave = async () => {
        await write();
        if (collection === 'messages') await server.messaging.editMessage(A.auth, quietMessage!.id, 'quiet, edited once');
        else await send(Q, quiet, 'quiet, once more');
        movedTo = await server.store.feedHead(A.id, collection);
      };
      const start = await bootstrap(socket, collection, pageSize);
      const head = start.checkpoint!.seq;
      expect(movedTo).toBeGreaterThan(head);
      for (const d of start.documents) expect(d.seq).toBeLessThanOrEqual(head);
      const { docs } = await walk(socket, collection, start.history, limit, { between: write, during: write });
      for (const d of docs) expect(d.seq).toBeLessThanOrEqual(head);
      results[collection] = [start.documents, docs];
      checkpoints[collection] = start.checkpoint;
    }
    // Live replication catches up once the writer stops (it ran on while the other collection walked).
    for (const collection of ['messages', 'conversations'] as const) {
      const live = await pullAllFrom(socket, collection, checkpoints[collection]!);
      expect(merge(...results[collection]!, live)).toEqual(asMap(await feedOf(A, collection)));
    }
  });

  it('a commit streamed to the socket while its bootstrap reads is followed, after the answer, by a resync that pulls it', async () => {
    const [A, B] = [user(), user()];
    await conversation(A, B);
    const socket = await socketOf(A);
    const stream = collectStream(socket);
    let crossing = '';
    // The commit lands after the head read and streams to the socket before the answer.
    store.interleave = async () => {
      crossing = await conversation(A, user());
      await waitFor(() => stream.some((e) => e.collection === 'conversations'), 'the commit streamed to the socket');
    };
    // How many stream events had arrived when the answer did (read in the ack's own callback: a
    // resync in the same packet is handled before an awaiting test would run).
    let seenAtAnswer = -1;
    const start = await new Promise<any>((resolve, reject) =>
      (socket.timeout(5000) as any).emit(
        'sync:bootstrap',
        { collection: 'conversations', pageSize: 10 },
        (err: Error | null, answer: any) => {
          seenAtAnswer = stream.length;
          if (err) reject(err);
          else resolve(answer);
        },
      ),
    );
    expect(start.error).toBeUndefined();
    expect(start.documents.map((d: { id: string }) => d.id)).not.toContain(crossing);
    await waitFor(
      () => stream.slice(seenAtAnswer).find((e) => e.collection === 'conversations' && e.resync === true),
      'a resync after the answer',
    );
    const live = await pull(socket, { collection: 'conversations', checkpoint: start.checkpoint, batchSize: 10 });
    expect(live.documents.map((d: { id: string }) => d.id)).toContain(crossing);

    // Nothing crossed: no resync follows the answer.
    const quiet = await bootstrap(socket, 'conversations', 10);
    const seenAtQuiet = stream.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(stream.slice(seenAtQuiet)).toEqual([]);
    expect(quiet.documents.map((d) => d.id)).toContain(crossing);
  });

  it('a position just above the server’s head is the top of the feed; one further is INVALID_CHECKPOINT', async () => {
    const [A, B] = [user(), user()];
    const ab = await conversation(A, B);
    await chat(A, B, ab, 'm', 3);
    const socket = await socketOf(A);
    const head = await server.store.headSeq();
    const top = await request(socket, 'sync:history', { collection: 'messages', before: head + 1, limit: 10 });
    expect(top).toEqual({ documents: bySeqDesc(await feedOf(A, 'messages')), history: null });
    const ahead = await request(socket, 'sync:history', { collection: 'messages', before: head + 2, limit: 10 });
    expect(ahead.error.code).toBe('INVALID_CHECKPOINT');
  });
});

/** Live replication from a checkpoint until caught up. */
async function pullAllFrom(socket: ClientSocket, collection: CollectionName, checkpoint: { seq: number } | null) {
  const docs: any[] = [];
  for (;;) {
    const answer = await pull(socket, { collection, checkpoint, batchSize: 10 });
    expect(answer.error).toBeUndefined();
    docs.push(...answer.documents);
    checkpoint = answer.checkpoint;
    if (answer.documents.length < 10) return docs;
  }
}

describe('sync:page', () => {
  it('pages a conversation newest first to its end; a page that ends exactly at the oldest is followed by an empty one', async () => {
    const [A, B, C] = [user(), user(), user()];
    const ab = await conversation(A, B);
    const ac = await conversation(A, C);
    const abSent = await chat(A, B, ab, 'ab', 23);
    await chat(A, C, ac, 'ac', 20);
    await server.messaging.editMessage(A.auth, abSent[2]!.id, 'ab3 edited');

    for (const [socket, id, sizes] of [
      [await socketOf(A), ab, [5, 5, 5, 5, 3]],
      [await socketOf(B), ab, [5, 5, 5, 5, 3]],
      [await socketOf(A), ac, [5, 5, 5, 5, 0]],
    ] as const) {
      const pages = await pageThrough(socket, id, 5);
      expect(pages.map((p) => p.documents.length)).toEqual(sizes);
      const stored = (await server.store.listMessages(id, { limit: 1000 })).reverse().map((m) => ({ ...m, _deleted: false }));
      expect(pages.flatMap((p) => p.documents)).toEqual(stored);
      for (const [i, p] of pages.entries()) {
        if (i < pages.length - 1) expect(p.before).toBe(p.documents[4].seq);
        else expect(p.before).toBeNull();
      }
    }
    expect((await pageThrough(await socketOf(A), ab, 200))[0].documents[0].content).toBe('ab3 edited');
  });

  it('a conversation the caller is not in answers exactly like one that does not exist', async () => {
    const [A, B, C] = [user(), user(), user()];
    const ab = await conversation(A, B);
    await chat(A, B, ab, 'private ', 3);
    const c = await socketOf(C);
    const foreign = await request(c, 'sync:page', { conversationId: ab, before: null, limit: 10 });
    const missing = await request(c, 'sync:page', { conversationId: `c.${A.id}.${newUserId()}`, before: null, limit: 10 });
    expect(foreign).toEqual({ error: { code: 'NOT_FOUND', message: 'conversation not found' } });
    expect(missing).toEqual(foreign);
    expect(await request(c, 'sync:page', { conversationId: ab, before: 2, limit: 10 })).toEqual(foreign);
  });
});

describe('isolation', () => {
  it('a third user’s bootstrap, history and pages hold only their own conversations', async () => {
    const [A, B, C, D] = [user(), user(), user(), user()];
    const ab = await conversation(A, B);
    const abSent = await chat(A, B, ab, 'SECRET-AB ', 12);
    const cd = await conversation(C, D);
    const cdSent = await chat(C, D, cd, 'cd ', 4);
    await chat(A, B, ab, 'SECRET-AB later ', 3);
    const socket = await socketOf(C);
    const received: unknown[] = [];
    for (const collection of ['messages', 'conversations'] as const) {
      const start = await bootstrap(socket, collection, 2);
      const { docs } = await walk(socket, collection, start.history, 2);
      received.push(start, docs);
      const expected = collection === 'messages' ? cdSent.map((m) => m.id) : [cd];
      expect([...merge(start.documents, docs).keys()].sort()).toEqual([...expected].sort());
    }
    // A walk from the top of the whole store (above every one of A–B's sequences) too.
    const top = await request(socket, 'sync:history', { collection: 'messages', before: (await server.store.headSeq()) + 1, limit: 1000 });
    received.push(top, await pageThrough(socket, cd, 2));
    expect(top.documents.map((d: any) => d.id).sort()).toEqual(cdSent.map((m) => m.id).sort());
    const text = JSON.stringify(received);
    expect(text).not.toContain('SECRET-AB');
    expect(text).not.toContain(ab);
    for (const m of abSent) expect(text).not.toContain(m.id);
  });
});

describe('bad input', () => {
  const codeOf = async (socket: ClientSocket, event: string, payload: unknown) => (await request(socket, event, payload))?.error?.code;

  it('each malformed or out-of-range request gets its code, and nothing is written', async () => {
    const [A, B] = [user(), user()];
    const ab = await conversation(A, B);
    await chat(A, B, ab, 'm', 2);
    const socket = await socketOf(A);
    const before = storeDigest(server.sqlitePath);
    const head = await server.store.headSeq();
    const cases: [string, unknown, string][] = [
      ['sync:bootstrap', { collection: 'secrets', pageSize: 5 }, 'UNKNOWN_COLLECTION'],
      ['sync:bootstrap', { collection: 'messages', pageSize: LIMITS.bootstrapPageMax + 1 }, 'BATCH_TOO_LARGE'],
      ['sync:bootstrap', { collection: 'messages', pageSize: LIMITS.bootstrapMessagesPerConversationMax + 1 }, 'BATCH_TOO_LARGE'],
      ['sync:bootstrap', { collection: 'messages', pageSize: 1e308 }, 'BATCH_TOO_LARGE'],
      ['sync:bootstrap', { collection: 'messages', pageSize: 0 }, 'VALIDATION_FAILED'],
      ['sync:bootstrap', { collection: 'messages', pageSize: 5, conversations: LIMITS.bootstrapConversationsMax + 1 }, 'BATCH_TOO_LARGE'],
      ['sync:bootstrap', { collection: 'messages', pageSize: 5, conversations: 0 }, 'VALIDATION_FAILED'],
      ['sync:bootstrap', { collection: 'messages', pageSize: 5, conversations: null }, 'VALIDATION_FAILED'],
      ['sync:bootstrap', { collection: 'conversations', pageSize: 5, conversations: 3 }, 'VALIDATION_FAILED'],
      ['sync:bootstrap', { collection: 'messages', pageSize: 2.5 }, 'VALIDATION_FAILED'],
      ['sync:bootstrap', { collection: 'messages', pageSize: '5' }, 'VALIDATION_FAILED'],
      ['sync:bootstrap', { collection: 'messages' }, 'VALIDATION_FAILED'],
      ['sync:bootstrap', { collection: 'messages', pageSize: 5, userId: B.id }, 'VALIDATION_FAILED'],
      ['sync:bootstrap', JSON.parse('{"collection":"messages","pageSize":5,"__proto__":{"x":1}}'), 'FORBIDDEN_KEY'],
      ['sync:bootstrap', { collection: { $ne: '' }, pageSize: 5 }, 'FORBIDDEN_KEY'],
      ['sync:bootstrap', { collection: 'mess\ud800ages', pageSize: 5 }, 'VALIDATION_FAILED'],
      ['sync:bootstrap', 'messages', 'VALIDATION_FAILED'],
      ['sync:bootstrap', null, 'VALIDATION_FAILED'],
      ['sync:history', { collection: 'secrets', before: 1, limit: 5 }, 'UNKNOWN_COLLECTION'],
      ['sync:history', { collection: 'messages', before: 1, limit: LIMITS.historyMaxBatch + 1 }, 'BATCH_TOO_LARGE'],
      ['sync:history', { collection: 'messages', before: 1, limit: 0 }, 'VALIDATION_FAILED'],
      ['sync:history', { collection: 'messages', limit: 5 }, 'VALIDATION_FAILED'],
      ['sync:history', { collection: 'messages', before: 1, limit: 5, $where: '1' }, 'FORBIDDEN_KEY'],
      ...[0, -1, 1.5, '7', null, { seq: 1 }, 2 ** 60].map((b): [string, unknown, string] => [
        'sync:history',
        { collection: 'messages', before: b, limit: 5 },
        'INVALID_CHECKPOINT',
      ]),
      ['sync:history', { collection: 'messages', before: head + 2, limit: 5 }, 'INVALID_CHECKPOINT'],
      ['sync:page', { conversationId: ab, before: null, limit: LIMITS.pageMaxBatch + 1 }, 'BATCH_TOO_LARGE'],
      ['sync:page', { conversationId: ab, before: null, limit: 0 }, 'VALIDATION_FAILED'],
      ['sync:page', { conversationId: 'not a conversation', before: null, limit: 5 }, 'VALIDATION_FAILED'],
      ['sync:page', { conversationId: ab, limit: 5 }, 'VALIDATION_FAILED'],
      ['sync:page', { conversationId: ab, before: null, limit: 5, as: B.id }, 'VALIDATION_FAILED'],
      ['sync:page', { conversationId: ab, before: { $gt: 0 }, limit: 5 }, 'FORBIDDEN_KEY'],
      ...[0, -3, 2.5, 'x', 2 ** 60].map((b): [string, unknown, string] => [
        'sync:page',
        { conversationId: ab, before: b, limit: 5 },
        'INVALID_CHECKPOINT',
      ]),
      ['sync:page', { conversationId: ab, before: head + 2, limit: 5 }, 'INVALID_CHECKPOINT'],
    ];
    for (const [event, payload, code] of cases) {
      const answer = await request(socket, event, payload);
      expect(answer.error?.code, `${event} ${JSON.stringify(payload)} → ${JSON.stringify(answer)}`).toBe(code);
      expect(answer.error.message).toBeTypeOf('string');
    }
    expect(await codeOf(socket, 'sync:history', { collection: 'messages', before: head + 1, limit: 5 })).toBeUndefined();
    expect(await codeOf(socket, 'sync:page', { conversationId: ab, before: head + 1, limit: 5 })).toBeUndefined();
    expect(storeDigest(server.sqlitePath)).toBe(before);
  });

  it('without an ack a read is ignored, and the socket keeps answering', async () => {
    const socket = await socketOf(user());
    for (const event of ['sync:bootstrap', 'sync:history', 'sync:page'])
      (socket as any).emit(event, { collection: 'messages', pageSize: 1 });
    expect(await bootstrap(socket, 'messages', 1)).toEqual({ documents: [], checkpoint: null, history: null });
  });

  it('the reads count against the per-socket event rate like pulls: a flood is answered RATE_LIMITED, then served again', async () => {
    const limited = await startTestServer({ rateLimits: { socketEventsPerSecond: 5 } });
    try {
      const A = user();
      const socket = await connect(limited.url, A.token);
      sockets.push(socket);
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          request(
            socket,
            ['sync:bootstrap', 'sync:history', 'sync:page'][i % 3]!,
            [
              { collection: 'messages', pageSize: 5 },
              { collection: 'messages', before: 1, limit: 5 },
              { conversationId: `c.${A.id}.${newUserId()}`, before: null, limit: 5 },
            ][i % 3],
          ),
        ),
      );
      const refused = answers.filter((a) => a.error?.code === 'RATE_LIMITED');
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.length).toBeLessThan(answers.length);
      await waitFor(
        async () => !(await request(socket, 'sync:history', { collection: 'messages', before: 1, limit: 5 })).error,
        'the socket to be served again',
      );
    } finally {
      await limited.stop();
    }
  });
});
