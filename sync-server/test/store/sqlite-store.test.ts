import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { type CommitResult, StaleWriteError } from '../../src/store/port';
import { SqliteStore } from '../../src/store/sqlite-store';
import { draftConversation, draftMessage } from '../support/docs';
import { registerStorageContractTests } from './storage-contract';

/** A fresh directory for a store file, and a conversation between two id-shaped users. */
function fileAndPair(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const a = 'a'.repeat(24);
  const b = 'b'.repeat(24);
  const { _deleted, ...conv } = draftConversation(a, b);
  return { path: join(dir, 's.sqlite'), a, b, conv, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

registerStorageContractTests('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fw-store-'));
  const path = join(dir, 'store.sqlite');
  let store = new SqliteStore({ path });
  const harness = {
    store,
    async reopen() {
      await store.close();
      store = new SqliteStore({ path });
      harness.store = store;
      return store;
    },
    async destroy() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
});

describe('SQLite specifics', () => {
  it('the checkpointer’s thread keeps the WAL small while commits go on, without SQLite’s autocheckpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-wal-'));
    const path = join(dir, 's.sqlite');
    // The backstop off: only the checkpointer (its thread, then its tail) can start the WAL over.
    const store = new SqliteStore({ path, walAutocheckpointPages: 0, checkpointThresholdPages: 64, checkpointIntervalMs: 0 });
    const convs = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const [a, b] = [`wal-a-${i}`, `wal-b-${i}`];
        const { _deleted, ...conv } = draftConversation(a, b);
        const r = await store.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: [a, b] }]);
        return { a, b, conv, seq: r.docs[0]!.doc.seq };
      }),
    );
    let largest = 0;
    for (let round = 0; round < 300; round++) {
      await Promise.all(
        convs.map(async (x) => {
          const { _deleted, ...m } = draftMessage(x.conv.id, x.a, x.b, `message ${round}`);
          const r = await store.commit([
            { collection: 'messages', doc: m, expectedSeq: null, audience: [x.a, x.b] },
            { collection: 'conversations', doc: { ...x.conv, lastMessage: m.id }, expectedSeq: x.seq, audience: [x.a, x.b] },
          ]);
          x.seq = r.docs[1]!.doc.seq;
        }),
      );
      largest = Math.max(largest, statSync(`${path}-wal`).size);
    }
    expect(store.checkpoints).toBeGreaterThan(0);
    // Without the thread (checkpointThresholdPages: 0) the WAL held ~160 MB at the end; with it,
    // at most ~30 MB (it starts over once it holds four checkpoints' worth, ~16 MB, plus what
    // was committed while the last of them ran).
    expect(largest).toBeLessThan(48 * 1024 * 1024);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pull is an indexed range scan on the feed (the plan never scans the table)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-plan-'));
    const store = new SqliteStore({ path: join(dir, 's.sqlite') });
    const db = (store as unknown as { db: import('better-sqlite3').Database }).db;
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT m.body FROM feed f JOIN messages m ON m.id = f.doc_id
         WHERE f.user_id = ? AND f.collection = 'messages' AND f.seq > ? ORDER BY f.seq LIMIT ?`,
      )
      .all('a', 0, 10) as { detail: string }[];
    const details = plan.map((p) => p.detail).join(' | ');
    expect(details).toMatch(/SEARCH f USING PRIMARY KEY \(user_id=\? AND collection=\? AND seq>\?\)/);
    expect(details).toMatch(/SEARCH m USING PRIMARY KEY/);
    expect(details).not.toMatch(/SCAN|TEMP B-TREE/);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the history walk reads the feed index backwards and counts on it: no table scan, no sort', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-plan-'));
    const store = new SqliteStore({ path: join(dir, 's.sqlite') });
    const internals = store as unknown as { db: import('better-sqlite3').Database; stmt: Record<string, { source: string }> };
    const planOf = (name: string, ...args: unknown[]) =>
      (internals.db.prepare(`EXPLAIN QUERY PLAN ${internals.stmt[name]!.source}`).all(...args) as { detail: string }[])
        .map((p) => p.detail)
        .join(' | ');
    for (const name of ['feedBeforeMessages', 'feedBeforeConversations']) {
      const details = planOf(name, 'a', 10, 10);
      expect(details, name).toMatch(/SEARCH f USING PRIMARY KEY \(user_id=\? AND collection=\? AND seq<\?\)/);
      expect(details, name).toMatch(/SEARCH [mc] USING PRIMARY KEY/);
      expect(details, name).not.toMatch(/SCAN|TEMP B-TREE/);
    }
    const count = planOf('countFeedBefore', 'a', 'messages', 10);
    expect(count).toMatch(/SEARCH feed USING PRIMARY KEY \(user_id=\? AND collection=\? AND seq<\?\)/);
    const newest = planOf('newestMessages', 'c', 10, 10);
    expect(newest).toMatch(/SEARCH messages USING INDEX messages_by_conversation \(conversation=\? AND seq<\?\)/);
    expect(newest).not.toMatch(/SCAN|TEMP B-TREE/);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two connections to one file (as two processes) keep commit order equal to sequence order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-two-'));
    const path = join(dir, 's.sqlite');
    const one = new SqliteStore({ path });
    const two = new SqliteStore({ path });
    const { _deleted, ...conv } = draftConversation('a'.repeat(24), 'b'.repeat(24));
    await one.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: conv.participants }]);
    const seen: number[] = [];
    for (let i = 0; i < 50; i++) {
      const store = i % 2 === 0 ? one : two;
      const { _deleted: _d, ...m } = draftMessage(conv.id, conv.participants[0]!, conv.participants[1]!, `m${i}`);
      const r = await store.commit([{ collection: 'messages', doc: m, expectedSeq: null, audience: conv.participants }]);
      seen.push(r.docs[0]!.doc.seq);
    }
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
    const pulled = await two.pullFeed(conv.participants[0]!, 'messages', 0, 1000);
    expect(pulled.map((m) => m.content)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    await one.close();
    await two.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('group commit: commits of one turn share a transaction, a stale one rolls back alone, sequences stay contiguous', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-group-'));
    const store = new SqliteStore({ path: join(dir, 's.sqlite') });
    const { _deleted, ...conv } = draftConversation('a'.repeat(24), 'b'.repeat(24));
    await store.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: conv.participants }]);
    const before = { ...store.commitStats };
    const [a, b] = conv.participants as [string, string];
    const op = (content: string) => {
      const { _deleted: _d, ...m } = draftMessage(conv.id, a, b, content);
      return { collection: 'messages' as const, doc: m, expectedSeq: null, audience: conv.participants };
    };
    const first = op('first');
    const results = await Promise.allSettled([
      store.commit([first]),
      // The same new id again: its compare-and-set fails inside the shared transaction.
      store.commit([{ ...first, doc: { ...first.doc, content: 'duplicate' } }]),
      store.commit([op('third')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StaleWriteError);
    expect(store.commitStats.transactions - before.transactions).toBe(1);
    expect(store.commitStats.commits - before.commits).toBe(3);
    // Run without savepoints first; the stale commit sent the group round again with them.
    expect(store.commitStats.groupsRunAgain - before.groupsRunAgain).toBe(1);
    const seqs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.docs[0]!.doc.seq] : []));
    expect(seqs).toEqual([2, 3]);
    // A group where every commit succeeds runs once.
    await Promise.all([store.commit([op('fourth')]), store.commit([op('fifth')])]);
    expect(store.commitStats.transactions - before.transactions).toBe(2);
    expect(store.commitStats.groupsRunAgain - before.groupsRunAgain).toBe(1);
    expect((results[2] as PromiseFulfilledResult<CommitResult>).value.feeds[0]!.prevSeq).toBe(2);
    expect((await store.pullFeed(a, 'messages', 0, 10)).map((m) => m.content)).toEqual(['first', 'third', 'fourth', 'fifth']);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('group commit: a commit that fails after writing feed rows takes back its sequences and feed heads', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const { _deleted, ...conv } = draftConversation('a'.repeat(24), 'b'.repeat(24));
    await store.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: conv.participants }]);
    const [a, b] = conv.participants as [string, string];
    const op = (content: string) => {
      const { _deleted: _d, ...m } = draftMessage(conv.id, a, b, content);
      return { collection: 'messages' as const, doc: m, expectedSeq: null, audience: conv.participants };
    };
    const first = op('first');
    const results = await Promise.allSettled([
      store.commit([first]),
      // Writes a message and both feeds, then loses the compare-and-set on the conversation.
      store.commit([op('rolled back'), { collection: 'conversations', doc: conv, expectedSeq: 99, audience: conv.participants }]),
      store.commit([op('third')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const third = (results[2] as PromiseFulfilledResult<CommitResult>).value;
    expect(third.docs[0]!.doc.seq).toBe(3);
    // Each participant's feed continues from the first commit, not from the rolled-back one.
    expect(third.feeds.map((f) => [f.userId, f.prevSeq])).toEqual([
      [a, 2],
      [b, 2],
    ]);
    expect(await store.headSeq()).toBe(3);
    expect(await store.feedHead(b, 'messages')).toBe(3);
    expect((await store.pullFeed(b, 'messages', 0, 10)).map((m) => m.content)).toEqual(['first', 'third']);
    // The counter row was written back: the next group continues from it.
    expect((await store.commit([op('fourth')])).docs[0]!.doc.seq).toBe(4);
    await store.close();
  });

  it('group commit: an update whose stored seq moved is stale, and so is a creation of an existing id', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const { _deleted, ...conv } = draftConversation('a'.repeat(24), 'b'.repeat(24));
    await store.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: conv.participants }]);
    const { _deleted: _d, ...m } = draftMessage(conv.id, conv.participants[0]!, conv.participants[1]!, 'hi');
    await store.commit([{ collection: 'messages', doc: m, expectedSeq: null, audience: conv.participants }]);
    const edit = { collection: 'messages' as const, doc: { ...m, content: 'edited' }, audience: conv.participants };
    await expect(store.commit([{ ...edit, expectedSeq: 1 }])).rejects.toBeInstanceOf(StaleWriteError);
    await expect(store.commit([{ ...edit, expectedSeq: null }])).rejects.toBeInstanceOf(StaleWriteError);
    await expect(
      store.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: conv.participants }]),
    ).rejects.toBeInstanceOf(StaleWriteError);
    expect((await store.commit([{ ...edit, expectedSeq: 2 }])).docs[0]!.doc.seq).toBe(3);
    expect((await store.getDocs('messages', [m.id]))[0]!.content).toBe('edited');
    await store.close();
  });

  it('a file from before conversation_writers: its writers are taken from its messages and the two per-message indexes dropped', async () => {
    const { path, a, b, conv, remove } = fileAndPair('fw-migrate-');
    const { _deleted, ...m } = draftMessage(conv.id, b, a, 'from b');
    const old = new SqliteStore({ path });
    await old.commit([
      { collection: 'conversations', doc: { ...conv, unreadCount: { [a]: 1 } }, expectedSeq: null, audience: conv.participants },
    ]);
    await old.commit([{ collection: 'messages', doc: m, expectedSeq: null, audience: conv.participants }]);
    await old.close();
    // What the earlier schema left: the two indexes, and no conversation_writers rows.
    const raw = new Database(path);
    raw.exec(`CREATE INDEX messages_unread ON messages (recipient, is_read, is_deleted);
      CREATE INDEX messages_by_sender ON messages (conversation, sender);
      DELETE FROM conversation_writers;`);
    raw.close();
    const store = new SqliteStore({ path });
    const db = (store as unknown as { db: import('better-sqlite3').Database }).db;
    const indexes = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'").all() as { name: string }[]
    ).map((r) => r.name);
    expect(indexes).not.toContain('messages_unread');
    expect(indexes).not.toContain('messages_by_sender');
    expect((await store.conversationWriters([conv])).get(conv.id)).toEqual([b]);
    expect(await store.countUnread(a)).toBe(1);
    await store.close();
    remove();
  });

  it('a file from before the feed was keyed by seq: its entries are copied over and pulls and rewrites go on from them', async () => {
    const { path, a, b, conv, remove } = fileAndPair('fw-migrate-feed-');
    const first = new SqliteStore({ path });
    const created = await first.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: conv.participants }]);
    for (const text of ['one', 'two']) {
      const { _deleted, ...m } = draftMessage(conv.id, a, b, text);
      await first.commit([{ collection: 'messages', doc: m, expectedSeq: null, audience: conv.participants }]);
    }
    await first.close();
    // The earlier layout: keyed by document, a unique index by seq.
    const raw = new Database(path);
    raw.exec(`CREATE TABLE old_feed (user_id TEXT NOT NULL, collection TEXT NOT NULL, doc_id TEXT NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (user_id, collection, doc_id)) WITHOUT ROWID;
      INSERT INTO old_feed SELECT user_id, collection, doc_id, seq FROM feed;
      DROP TABLE feed;
      ALTER TABLE old_feed RENAME TO feed;
      CREATE UNIQUE INDEX feed_by_seq ON feed (user_id, collection, seq);`);
    raw.close();
    const store = new SqliteStore({ path });
    const db = (store as unknown as { db: import('better-sqlite3').Database }).db;
    // The table is its own index by seq (WITHOUT ROWID): no other index is left on it.
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'feed'").all()).toEqual([]);
    expect((await store.pullFeed(b, 'messages', 0, 10)).map((m) => m.content)).toEqual(['one', 'two']);
    const stored = created.docs[0]!.doc as typeof conv & { seq: number };
    await store.commit([
      { collection: 'conversations', doc: { ...stored, unreadCount: { [b]: 2 } }, expectedSeq: stored.seq, audience: conv.participants },
    ]);
    const conversations = await store.pullFeed(b, 'conversations', 0, 10);
    expect(conversations.map((c) => c.unreadCount[b])).toEqual([2]);
    expect(await store.feedHead(b, 'conversations')).toBe(conversations[0]!.seq);
    await store.close();
    remove();
  });

  it('a user who leaves a document’s audience and joins it again holds one feed entry for it, at its newest seq', async () => {
    const { path, a, b, conv, remove } = fileAndPair('fw-audience-');
    const store = new SqliteStore({ path });
    const { _deleted, ...m } = draftMessage(conv.id, a, b, 'v1');
    let seq = (await store.commit([{ collection: 'messages', doc: m, expectedSeq: null, audience: [a, b] }])).docs[0]!.doc.seq;
    seq = (await store.commit([{ collection: 'messages', doc: { ...m, content: 'v2' }, expectedSeq: seq, audience: [a] }])).docs[0]!.doc
      .seq;
    const last = await store.commit([{ collection: 'messages', doc: { ...m, content: 'v3' }, expectedSeq: seq, audience: [a, b] }]);
    const pulled = await store.pullFeed(b, 'messages', 0, 10);
    expect(pulled.map((x) => [x.content, x.seq])).toEqual([['v3', last.docs[0]!.doc.seq]]);
    expect(await store.countFeedBefore(b, 'messages', Number.MAX_SAFE_INTEGER)).toBe(1);
    await store.close();
    remove();
  });

  it('two stores on one file (two processes) each report a feed change from where the other left the feed', async () => {
    const { path, a, b, conv, remove } = fileAndPair('fw-two-stores-');
    const stores = [new SqliteStore({ path }), new SqliteStore({ path })];
    await stores[0]!.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: conv.participants }]);
    let head = 0;
    for (let i = 0; i < 6; i++) {
      // Twice from one store, then twice from the other: its own last write is not the head.
      const store = stores[Math.floor(i / 2) % 2]!;
      const { _deleted, ...m } = draftMessage(conv.id, a, b, `m${i}`);
      const result = await store.commit([{ collection: 'messages', doc: m, expectedSeq: null, audience: conv.participants }]);
      const feed = result.feeds.find((f) => f.userId === b && f.collection === 'messages')!;
      expect(feed.prevSeq, `commit ${i}`).toBe(head);
      head = feed.docs.at(-1)!.seq;
    }
    for (const store of stores) await store.close();
    remove();
  });

  it('close writes the commits already requested', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-close-'));
    const path = join(dir, 's.sqlite');
    const store = new SqliteStore({ path });
    const { _deleted, ...conv } = draftConversation('a'.repeat(24), 'b'.repeat(24));
    const pending = store.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: conv.participants }]);
    await store.close();
    expect((await pending).docs[0]!.doc.seq).toBe(1);
    const reopened = new SqliteStore({ path });
    expect(await reopened.getDocs('conversations', [conv.id])).toHaveLength(1);
    await reopened.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
