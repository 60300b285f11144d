import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CollectionName, ConversationDoc, DocsByCollection, MessageDoc } from '@fetchwork/shared-schema';
import Database from 'better-sqlite3';
import { SqliteSessionRecords } from '../auth/sessions/sqlite-session-records';
import { SqlitePendingRegistrations } from '../auth/sqlite-pending-registrations';
import { SqliteBlockRecords } from '../blocks/sqlite-block-records';
import { SqliteFileRecords } from '../files/sqlite-file-records';
import { SqlitePushRecords } from '../notifications/sqlite-push-records';
import { SqliteUserProfiles } from '../users/sqlite-user-profiles';
import {
  type CommitResult,
  type FeedChange,
  StaleWriteError,
  type StoredText,
  type StoredTextReads,
  type SyncStore,
  type UserRecord,
  type WriteOp,
} from './port';
import { type ReadMode, SqliteReadThread } from './sqlite-read-thread';
import { WalCheckpointer } from './wal-checkpointer';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for throwaway stores. */
  path: string;
  /**
   * NORMAL (default) in WAL mode keeps every acknowledged commit across a process crash
   * (kill -9) but may lose the last ones on power loss; FULL also survives power loss at the
   * cost of an fsync per commit. See docs/operations.md.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a writer waits for another process's write lock before failing. */
  busyTimeoutMs?: number;
  /**
   * How often the WAL is copied into the database file besides when it grows (a passive
   * checkpoint on the checkpointer's thread, which never waits for other connections); 0: only
   * when it grows. Default 60 s. It bounds how long a deleted message's text stays in the WAL
   * (docs/risks.md §9).
   */
  checkpointIntervalMs?: number;
  /**
   * WAL growth (in pages) after which the checkpointer's thread copies it into the database file
   * (wal-checkpointer.ts). Default 1,000 (≈ 4 MB). 0: no thread and no periodic checkpoint;
   * every checkpoint runs inside a commit, at `walAutocheckpointPages`.
   */
  checkpointThresholdPages?: number;
  /**
   * WAL pages after which a commit checkpoints itself (SQLite's `wal_autocheckpoint`), on the
   * event loop: the backstop for when the checkpointer's thread falls behind. Default 10,000
   * (≈ 40 MB of WAL).
   */
  walAutocheckpointPages?: number;
  /** Told when a checkpoint on the checkpointer's thread fails (the server logs it). */
  onCheckpointError?: (message: string) => void;
  /**
   * Long reads (a search, a history or bootstrap page of the feed, the count below it) on a
   * thread of their own (sqlite-read-thread.ts), so they never hold up the event loop. Default
   * true for a file; a ':memory:' store has no file to share and reads on the event loop.
   */
  readThread?: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY,
  conversation TEXT NOT NULL,
  sender TEXT NOT NULL,
  recipient TEXT NOT NULL,
  is_read INTEGER NOT NULL,
  is_deleted INTEGER NOT NULL,
  content TEXT NOT NULL,
  seq INTEGER NOT NULL,
  body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation, seq);
CREATE TABLE IF NOT EXISTS conversation_writers (
  conversation TEXT NOT NULL,
  sender TEXT NOT NULL,
  PRIMARY KEY (conversation, sender)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY,
  last_activity TEXT NOT NULL,
  seq INTEGER NOT NULL,
  body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feed (
  user_id TEXT NOT NULL,
  collection TEXT NOT NULL,
  seq INTEGER NOT NULL,
  doc_id TEXT NOT NULL,
  PRIMARY KEY (user_id, collection, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO counters (name, value) VALUES ('seq', 0);
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  name TEXT,
  email TEXT UNIQUE,
  password_hash TEXT
) WITHOUT ROWID;
`;

/**
 * The reads that scan a user's feed, prepared on the store's connection and on its read thread
 * (the same text for both). The search scans the user's messages for a substring; the count is
 * the rest of the feed below a history page.
 */
const LONG_READS = {
  search: `SELECT m.body FROM feed f JOIN messages m ON m.id = f.doc_id
         WHERE f.user_id = ? AND f.collection = 'messages' AND m.is_deleted = 0 AND m.content LIKE ? ESCAPE '\\'
         ORDER BY f.seq DESC LIMIT ?`,
  countFeedBefore: 'SELECT count(*) AS n FROM feed WHERE user_id = ? AND collection = ? AND seq < ?',
  // A history page (up to 1,000 documents) and the bootstrap's lists: the feed's key read backwards,
  // so a page costs the rows it returns (a test checks the plan).
  feedBeforeMessages: `SELECT f.seq, m.body FROM feed f JOIN messages m ON m.id = f.doc_id
         WHERE f.user_id = ? AND f.collection = 'messages' AND f.seq < ? ORDER BY f.seq DESC LIMIT ?`,
  feedBeforeConversations: `SELECT f.seq, c.body FROM feed f JOIN conversations c ON c.id = f.doc_id
         WHERE f.user_id = ? AND f.collection = 'conversations' AND f.seq < ? ORDER BY f.seq DESC LIMIT ?`,
  // A conversation's newest page: run once per conversation of a bootstrap (50 of them by default:
  // ~4 ms of the event loop at 100,000 messages) or of a `sync:page`.
  newestMessages: 'SELECT seq, body FROM messages WHERE conversation = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
} as const;

/** A row of the reads that return documents: the document's sequence and its stored JSON. */
interface SeqBody {
  seq: number;
  body: string;
}
const storedText = (r: SeqBody): StoredText => ({ seq: r.seq, json: r.body });

/**
 * The WAL starts over once it holds this many checkpoints' worth of pages (or at the periodic
 * checkpoint): each start over syncs the WAL and the database file on the event loop
 * (wal-checkpointer.ts), a fixed cost that every checkpoint paid before (6.7 % of the event loop
 * at 3,600 one-message pushes/s).
 */
const RESTART_AFTER_CHECKPOINTS = 4;

/** Feed heads kept between group transactions before the map starts over (two per active user). */
const MAX_CACHED_HEADS = 200_000;

interface UserRow {
  id: string;
  name: string | null;
  email: string | null;
  password_hash: string | null;
}

interface PendingCommit {
  ops: readonly WriteOp[];
  resolve(result: CommitResult): void;
  reject(err: unknown): void;
}

type CommitOutcome = { ok: CommitResult } | { err: unknown };

/** What the commits of one group transaction share. */
interface GroupState {
  /** The last sequence taken; the counter row is written once, at the end of the group. */
  seq: number;
  /** Feed heads (user + collection → highest seq) already written in this group. */
  heads: Map<string, number>;
  /** The current commit's changes to `heads`, to take back if its savepoint rolls back. */
  undo: [string, number | undefined][];
}

/** Thrown out of a group run without savepoints when one of its commits fails: it runs again with them. */
class GroupNeedsSavepoints extends Error {}

const toUser = (r: UserRow): UserRecord => ({ id: r.id, name: r.name, email: r.email, passwordHash: r.password_hash });

/**
 * The embedded default store: one SQLite file in WAL mode. Commits run in `BEGIN IMMEDIATE`
 * transactions, which take the write lock before reading, so even several processes sharing the
 * file commit one at a time and the sequence counter, incremented inside the transaction,
 * follows commit order.
 *
 * Group commit: the commits requested in one event-loop turn share one transaction (one lock,
 * one WAL append, one COMMIT), which is most of the cost of a one-message push. A commit that
 * loses its compare-and-set race rolls back alone (with the sequences it took) and the others
 * stand: the group runs first without savepoints, and only if one of its commits fails is it
 * rolled back whole and run again with a SAVEPOINT per commit (a savepoint per commit cost ~10 %
 * of a one-message commit, and failures are rare). Callers are answered only after the shared
 * COMMIT, in commit order, so an acknowledged push is durable and feeds are published in
 * sequence order.
 */
export class SqliteStore implements SyncStore {
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly groupTx: (batch: readonly PendingCommit[]) => { outcomes: CommitOutcome[]; state: GroupState };
  /**
   * Feed heads (user + collection → highest seq) as committed, kept between group transactions so
   * a commit does not read them again (four reads per one-message commit). Valid while the
   * counter holds what this store's last group left in it: another process's commit moves it, and
   * then the map is dropped.
   */
  private readonly committedHeads = new Map<string, number>();
  private headsAtCounter = -1;
  private waiting: PendingCommit[] = [];
  private flushScheduled = false;
  /** Transactions and commits so far: commits ÷ transactions is the grouping achieved. */
  readonly commitStats = { transactions: 0, commits: 0, groupsRunAgain: 0 };
  private readonly checkpointer: WalCheckpointer | null;
  private readonly checkpointTimer: NodeJS.Timeout | null;
  private readonly reads: SqliteReadThread | null;

  constructor(private readonly options: SqliteStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    this.db.pragma('foreign_keys = OFF');
    // An upsert inside a savepoint keeps a statement journal; on disk that was a temp file and
    // ~25 pwrite calls per pushed message (most of a commit's cost). It never outlives a statement.
    this.db.pragma('temp_store = MEMORY');
    // A deleted or edited message's old text would otherwise stay in the freed space of its page
    // (and in freed pages) until SQLite happens to reuse it: secure_delete zeroes it when freed.
    this.db.pragma('secure_delete = ON');
    // The WAL file is reused from its start after a checkpoint, so frames with old page versions
    // (old text) would stay past the new end of the log; a limit of 0 truncates them off at the
    // first commit after each checkpoint. The file then grows by appends instead of overwrites.
    this.db.pragma('journal_size_limit = 0');
    this.db.pragma(`wal_autocheckpoint = ${options.walAutocheckpointPages ?? 10_000}`);
    this.db.exec(SCHEMA);
    dropPerMessageIndexes(this.db);
    keyFeedBySeq(this.db);
    const db = this.db;
    this.stmt = {
      getMessage: db.prepare<[string], { seq: number; body: string }>('SELECT seq, body FROM messages WHERE id = ?'),
      getConversation: db.prepare<[string], { seq: number; body: string }>('SELECT seq, body FROM conversations WHERE id = ?'),
      setSeq: db.prepare<[number]>("UPDATE counters SET value = ? WHERE name = 'seq'"),
      headSeq: db.prepare<[], { value: number }>("SELECT value FROM counters WHERE name = 'seq'"),
      // The compare-and-set is part of each write (no row changed = stale), not a read before it.
      insertMessage: db.prepare(
        `INSERT INTO messages (id, conversation, sender, recipient, is_read, is_deleted, content, seq, body)
         VALUES (@id, @conversation, @sender, @recipient, @isRead, @isDeleted, @content, @seq, @body)
         ON CONFLICT (id) DO NOTHING`,
      ),
      // Written once per sender and conversation: for every later message the key exists and
      // the insert changes no page.
      noteWriter: db.prepare<[string, string]>('INSERT OR IGNORE INTO conversation_writers (conversation, sender) VALUES (?, ?)'),
      hasWritten: db.prepare<[string, string], number>('SELECT 1 FROM conversation_writers WHERE conversation = ? AND sender = ?').pluck(),
      updateMessage: db.prepare(
        `UPDATE messages SET is_read = @isRead, is_deleted = @isDeleted, content = @content, seq = @seq, body = @body
         WHERE id = @id AND seq = @expectedSeq`,
      ),
      insertConversation: db.prepare(
        `INSERT INTO conversations (id, last_activity, seq, body) VALUES (@id, @lastActivity, @seq, @body)
         ON CONFLICT (id) DO NOTHING`,
      ),
      updateConversation: db.prepare(
        `UPDATE conversations SET last_activity = @lastActivity, seq = @seq, body = @body WHERE id = @id AND seq = @expectedSeq`,
      ),
      feedHead: db.prepare<[string, string], { seq: number | null }>(
        'SELECT max(seq) AS seq FROM feed WHERE user_id = ? AND collection = ?',
      ),
      addFeed: db.prepare<[string, string, number, string]>('INSERT INTO feed (user_id, collection, seq, doc_id) VALUES (?, ?, ?, ?)'),
      // A rewritten document's entry sits at the seq the write expected (its audience never changes).
      dropFeedAt: db.prepare<[string, string, number]>('DELETE FROM feed WHERE user_id = ? AND collection = ? AND seq = ?'),
      // Only if a user joins a document's audience: a scan of that user's feed in the collection.
      dropFeedOf: db.prepare<[string, string, string]>('DELETE FROM feed WHERE user_id = ? AND collection = ? AND doc_id = ?'),
      pullMessages: db.prepare<[string, number, number], SeqBody>(
        `SELECT f.seq, m.body FROM feed f JOIN messages m ON m.id = f.doc_id
         WHERE f.user_id = ? AND f.collection = 'messages' AND f.seq > ? ORDER BY f.seq LIMIT ?`,
      ),
      pullConversations: db.prepare<[string, number, number], SeqBody>(
        `SELECT f.seq, c.body FROM feed f JOIN conversations c ON c.id = f.doc_id
         WHERE f.user_id = ? AND f.collection = 'conversations' AND f.seq > ? ORDER BY f.seq LIMIT ?`,
      ),
      feedBeforeMessages: db.prepare<[string, number, number], SeqBody>(LONG_READS.feedBeforeMessages),
      feedBeforeConversations: db.prepare<[string, number, number], SeqBody>(LONG_READS.feedBeforeConversations),
      countFeedBefore: db.prepare<[string, string, number], { n: number }>(LONG_READS.countFeedBefore),
      newestMessages: db.prepare<[string, number, number], SeqBody>(LONG_READS.newestMessages),
      listConversations: db.prepare<[string], { body: string }>(
        `SELECT c.body FROM feed f JOIN conversations c ON c.id = f.doc_id
         WHERE f.user_id = ? AND f.collection = 'conversations' ORDER BY c.last_activity DESC, c.id`,
      ),
      listMessages: db.prepare<[string, number, number], { body: string }>(
        `SELECT body FROM (SELECT body, seq FROM messages WHERE conversation = ? AND seq < ? ORDER BY seq DESC LIMIT ?)
         ORDER BY seq`,
      ),
      // The user's counts on their conversations, which every commit keeps equal to their unread
      // messages (sync-service.ts): an index of unread messages cost a page write per message.
      countUnread: db.prepare<[string, string], { n: number }>(
        `SELECT coalesce(sum(c.body -> '$.unreadCount' ->> ?), 0) AS n FROM feed f JOIN conversations c ON c.id = f.doc_id
         WHERE f.user_id = ? AND f.collection = 'conversations'`,
      ),
      search: db.prepare<[string, string, number], { body: string }>(LONG_READS.search),
      getUser: db.prepare<[string], UserRow>('SELECT id, name, email, password_hash FROM users WHERE id = ?'),
      getUserByEmail: db.prepare<[string], UserRow>('SELECT id, name, email, password_hash FROM users WHERE email = ?'),
      upsertUser: db.prepare(
        `INSERT INTO users (id, name, email, password_hash) VALUES (@id, @name, @email, @passwordHash)
         ON CONFLICT (id) DO UPDATE SET
           name = CASE WHEN @setName THEN excluded.name ELSE users.name END,
           email = CASE WHEN @setEmail THEN excluded.email ELSE users.email END,
           password_hash = CASE WHEN @setHash THEN excluded.password_hash ELSE users.password_hash END`,
      ),
      ping: db.prepare('SELECT 1'),
    };
    // A better-sqlite3 transaction function called inside another runs as a SAVEPOINT.
    const one = db.transaction((ops: readonly WriteOp[], group: GroupState) => this.applyOps(ops, group));
    const group = db.transaction((batch: readonly PendingCommit[], savepoints: boolean) => {
      // The write lock is held from BEGIN IMMEDIATE, so the counter read here cannot move under
      // us (not even from another process); it is written back once, before COMMIT.
      const first = this.stmt.headSeq.get()?.value;
      if (first === undefined) throw new Error('sequence counter missing');
      if (first !== this.headsAtCounter || this.committedHeads.size > MAX_CACHED_HEADS) this.committedHeads.clear();
      const state: GroupState = { seq: first, heads: new Map(), undo: [] };
      const outcomes = batch.map((p): CommitOutcome => {
        const seqBefore = state.seq;
        state.undo = [];
        if (!savepoints) {
          try {
            return { ok: this.applyOps(p.ops, state) };
          } catch {
            throw new GroupNeedsSavepoints();
          }
        }
        try {
          return { ok: one(p.ops, state) };
        } catch (err) {
          // The savepoint rolled back this commit's rows; its sequences and feed heads go with them.
          state.seq = seqBefore;
          for (let i = state.undo.length - 1; i >= 0; i--) {
            const [key, prev] = state.undo[i]!;
            if (prev === undefined) state.heads.delete(key);
            else state.heads.set(key, prev);
          }
          return { err };
        }
      });
      if (state.seq !== first) this.stmt.setSeq.run(state.seq);
      return { outcomes, state };
    });
    this.groupTx = (batch) => {
      try {
        return group.immediate(batch, false);
      } catch (err) {
        if (!(err instanceof GroupNeedsSavepoints)) throw err;
        this.commitStats.groupsRunAgain += 1;
        return group.immediate(batch, true);
      }
    };
    const thresholdPages = options.checkpointThresholdPages ?? 1_000;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    this.checkpointer =
      thresholdPages > 0 && options.path !== ':memory:'
        ? new WalCheckpointer(
            options.path,
            options.synchronous ?? 'NORMAL',
            thresholdPages * pageSize,
            RESTART_AFTER_CHECKPOINTS * thresholdPages * pageSize,
            () => this.checkpointTail(),
            (message) => options.onCheckpointError?.(message),
          )
        : null;
    this.reads =
      options.path !== ':memory:' && options.readThread !== false
        ? new SqliteReadThread(options.path, LONG_READS, options.busyTimeoutMs ?? 5000)
        : null;
    const checkpointMs = options.checkpointIntervalMs ?? 60_000;
    const checkpointer = this.checkpointer;
    this.checkpointTimer = checkpointer && checkpointMs > 0 ? setInterval(() => checkpointer.request(), checkpointMs).unref() : null;
  }

  /** The end of a checkpoint made on the checkpointer's thread (see WalCheckpointer's `finish`). */
  private checkpointTail(): void {
    if (!this.db.open) return;
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch (err) {
      // Busy (another process) or failing I/O: the next round, or the autocheckpoint, tries again.
      this.options.onCheckpointError?.(err instanceof Error ? err.message : String(err));
    }
  }

  /** Checkpoints finished on the checkpointer's thread so far. */
  get checkpoints(): number {
    return this.checkpointer?.completed ?? 0;
  }

  private applyOps(ops: readonly WriteOp[], group: GroupState): CommitResult {
    const feeds = new Map<string, FeedChange>();
    const docs: CommitResult['docs'] = [];
    for (const op of ops) {
      const seq = ++group.seq;
      const doc = { ...op.doc, seq };
      const body = JSON.stringify(doc);
      const expectedSeq = op.expectedSeq;
      let changed: number;
      if (op.collection === 'messages') {
        const m = doc as MessageDoc;
        const row = {
          id: m.id,
          conversation: m.conversation,
          sender: m.sender,
          recipient: m.recipient,
          isRead: m.isRead ? 1 : 0,
          isDeleted: m.isDeleted ? 1 : 0,
          content: m.content,
          seq,
          body,
        };
        changed = (expectedSeq === null ? this.stmt.insertMessage.run(row) : this.stmt.updateMessage.run({ ...row, expectedSeq })).changes;
        if (changed === 1 && expectedSeq === null) this.stmt.noteWriter.run(m.conversation, m.sender);
      } else {
        const c = doc as ConversationDoc;
        const row = { id: c.id, lastActivity: c.lastActivity, seq, body };
        changed = (expectedSeq === null ? this.stmt.insertConversation.run(row) : this.stmt.updateConversation.run({ ...row, expectedSeq }))
          .changes;
      }
      // The savepoint (or the group's rollback) takes back this commit's earlier writes and the sequence just taken.
      if (changed !== 1) throw new StaleWriteError(op.collection, op.doc.id);
      for (const userId of op.audience) {
        const key = `${userId}\u0000${op.collection}`;
        let feed = feeds.get(key);
        if (!feed) {
          let prevSeq = group.heads.get(key) ?? this.committedHeads.get(key);
          if (prevSeq === undefined) {
            // Nothing of this group's in that feed yet, so this reads what is committed.
            prevSeq = this.stmt.feedHead.get(userId, op.collection)?.seq ?? 0;
            this.committedHeads.set(key, prevSeq);
          }
          feed = { userId, collection: op.collection, prevSeq, docs: [] };
          feeds.set(key, feed);
        }
        (feed.docs as unknown[]).push(doc);
        if (expectedSeq !== null && this.stmt.dropFeedAt.run(userId, op.collection, expectedSeq).changes === 0) {
          this.stmt.dropFeedOf.run(userId, op.collection, doc.id);
        }
        this.stmt.addFeed.run(userId, op.collection, seq, doc.id);
        group.undo.push([key, group.heads.get(key)]);
        group.heads.set(key, seq);
      }
      docs.push({ collection: op.collection, doc });
    }
    return { docs, feeds: [...feeds.values()] };
  }

  async getDocs<C extends CollectionName>(collection: C, ids: readonly string[]): Promise<DocsByCollection[C][]> {
    const get = collection === 'messages' ? this.stmt.getMessage : this.stmt.getConversation;
    const out: DocsByCollection[C][] = [];
    for (const id of new Set(ids)) {
      const row = get.get(id);
      if (row) out.push(JSON.parse(row.body));
    }
    return out;
  }

  commit(ops: readonly WriteOp[]): Promise<CommitResult> {
    if (ops.length === 0) return Promise.resolve({ docs: [], feeds: [] });
    return new Promise((resolve, reject) => {
      this.waiting.push({ ops, resolve, reject });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      // After this turn's I/O callbacks, so the pushes that arrived together commit together.
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.waiting;
    this.waiting = [];
    if (!this.db.open) {
      for (const p of batch) p.reject(new Error('store is closed'));
      return;
    }
    let outcomes: CommitOutcome[];
    try {
      const done = this.groupTx(batch);
      outcomes = done.outcomes;
      // Committed: the group's heads are the feeds' heads now.
      for (const [key, seq] of done.state.heads) this.committedHeads.set(key, seq);
      this.headsAtCounter = done.state.seq;
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.commitStats.transactions += 1;
    this.commitStats.commits += batch.length;
    this.checkpointer?.committed();
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if ('ok' in o) p.resolve(o.ok);
      else p.reject(o.err);
    });
  }

  async pullFeed<C extends CollectionName>(userId: string, collection: C, afterSeq: number, limit: number): Promise<DocsByCollection[C][]> {
    return (await this.pullFeedTexts(userId, collection, afterSeq, limit)).map((r) => JSON.parse(r.json));
  }

  /** The reads of pulls and history answers, each document's JSON as stored (port.ts). */
  readonly texts: StoredTextReads = {
    pullFeed: (userId, collection, afterSeq, limit) => this.pullFeedTexts(userId, collection, afterSeq, limit),
    feedBefore: (userId, collection, beforeSeq, limit) => this.feedBeforeTexts(userId, collection, beforeSeq, limit),
    newestMessages: (conversationIds, perConversation, beforeSeq) => this.newestMessagesTexts(conversationIds, perConversation, beforeSeq),
  };

  async pullFeedTexts(userId: string, collection: CollectionName, afterSeq: number, limit: number): Promise<StoredText[]> {
    const stmt = collection === 'messages' ? this.stmt.pullMessages : this.stmt.pullConversations;
    return stmt.all(userId, afterSeq, limit).map(storedText);
  }

  async feedBeforeTexts(userId: string, collection: CollectionName, beforeSeq: number, limit: number): Promise<StoredText[]> {
    const messages = collection === 'messages';
    const stmt = messages ? this.stmt.feedBeforeMessages : this.stmt.feedBeforeConversations;
    const rows = await this.longRead<SeqBody[]>(
      messages ? 'feedBeforeMessages' : 'feedBeforeConversations',
      [userId, beforeSeq, limit],
      'all',
      () => stmt.all(userId, beforeSeq, limit),
    );
    return rows.map(storedText);
  }

  async newestMessagesTexts(conversationIds: readonly string[], perConversation: number, beforeSeq: number): Promise<StoredText[]> {
    const each = [...new Set(conversationIds)].map((id) => [id, beforeSeq, perConversation] as const);
    const rows = await this.longRead<SeqBody[]>('newestMessages', each, 'each', () =>
      each.flatMap((args) => this.stmt.newestMessages.all(...args)),
    );
    return rows.map(storedText);
  }

  async headSeq(): Promise<number> {
    return this.stmt.headSeq.get()?.value ?? 0;
  }

  async feedHead(userId: string, collection: CollectionName): Promise<number> {
    return this.stmt.feedHead.get(userId, collection)?.seq ?? 0;
  }

  async feedBefore<C extends CollectionName>(
    userId: string,
    collection: C,
    beforeSeq: number,
    limit: number,
  ): Promise<DocsByCollection[C][]> {
    return (await this.feedBeforeTexts(userId, collection, beforeSeq, limit)).map((r) => JSON.parse(r.json));
  }

  async countFeedBefore(userId: string, collection: CollectionName, beforeSeq: number): Promise<number> {
    const row = await this.longRead<{ n: number } | undefined>('countFeedBefore', [userId, collection, beforeSeq], 'get', () =>
      this.stmt.countFeedBefore.get(userId, collection, beforeSeq),
    );
    return row?.n ?? 0;
  }

  warmUp(): void {
    this.reads?.start();
  }

  /** On the read thread when there is one; on the event loop when there is none or it failed. */
  private async longRead<T>(name: keyof typeof LONG_READS, args: readonly unknown[], mode: ReadMode, here: () => T): Promise<T> {
    if (this.reads) {
      try {
        return await this.reads.run<T>(name, args, mode);
      } catch (err) {
        if (!this.db.open) throw err;
        // The thread failed (it is started again at the next read): this one is answered here.
      }
    }
    return here();
  }

  async newestMessages(conversationIds: readonly string[], perConversation: number, beforeSeq: number): Promise<MessageDoc[]> {
    return (await this.newestMessagesTexts(conversationIds, perConversation, beforeSeq)).map((r): MessageDoc => JSON.parse(r.json));
  }

  async listConversations(userId: string): Promise<ConversationDoc[]> {
    return this.stmt.listConversations.all(userId).map((r) => JSON.parse(r.body));
  }

  async listMessages(conversationId: string, options: { limit: number; beforeSeq?: number }): Promise<MessageDoc[]> {
    const before = options.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    return this.stmt.listMessages.all(conversationId, before, options.limit).map((r) => JSON.parse(r.body));
  }

  async countUnread(userId: string): Promise<number> {
    return this.stmt.countUnread.get(userId, userId)?.n ?? 0;
  }

  async searchMessages(userId: string, query: string, limit: number): Promise<MessageDoc[]> {
    const escaped = query.replace(/[\\%_]/g, (c) => `\\${c}`);
    const pattern = `%${escaped}%`;
    const rows = await this.longRead<{ body: string }[]>('search', [userId, pattern, limit], 'all', () =>
      this.stmt.search.all(userId, pattern, limit),
    );
    return rows.map((r) => JSON.parse(r.body));
  }

  async getUser(id: string): Promise<UserRecord | null> {
    const row = this.stmt.getUser.get(id);
    return row ? toUser(row) : null;
  }

  async getUsers(ids: readonly string[]): Promise<UserRecord[]> {
    return [...new Set(ids)].flatMap((id) => {
      const row = this.stmt.getUser.get(id);
      return row ? [toUser(row)] : [];
    });
  }

  async getUserByEmail(email: string): Promise<UserRecord | null> {
    const row = this.stmt.getUserByEmail.get(email.toLowerCase());
    return row ? toUser(row) : null;
  }

  async upsertUser(user: { id: string; name?: string | null; email?: string | null; passwordHash?: string | null }): Promise<void> {
    this.stmt.upsertUser.run({
      id: user.id,
      name: user.name ?? null,
      email: user.email?.toLowerCase() ?? null,
      passwordHash: user.passwordHash ?? null,
      setName: user.name !== undefined ? 1 : 0,
      setEmail: user.email !== undefined ? 1 : 0,
      setHash: user.passwordHash !== undefined ? 1 : 0,
    });
  }

  private files: SqliteFileRecords | null = null;

  fileRecords(): SqliteFileRecords {
    this.files ??= new SqliteFileRecords(this.db);
    return this.files;
  }

  private profiles: SqliteUserProfiles | null = null;

  userProfiles(): SqliteUserProfiles {
    this.profiles ??= new SqliteUserProfiles(this.db);
    return this.profiles;
  }

  private pushStore: SqlitePushRecords | null = null;

  pushRecords(): SqlitePushRecords {
    this.pushStore ??= new SqlitePushRecords(this.db);
    return this.pushStore;
  }

  private sessions: SqliteSessionRecords | null = null;

  sessionRecords(): SqliteSessionRecords {
    this.sessions ??= new SqliteSessionRecords(this.db);
    return this.sessions;
  }

  private pending: SqlitePendingRegistrations | null = null;

  pendingRegistrations(): SqlitePendingRegistrations {
    this.pending ??= new SqlitePendingRegistrations(this.db);
    return this.pending;
  }

  private blocks: SqliteBlockRecords | null = null;

  blockRecords(): SqliteBlockRecords {
    this.blocks ??= new SqliteBlockRecords(this.db);
    return this.blocks;
  }

  async conversationWriters(conversations: readonly Pick<ConversationDoc, 'id' | 'participants'>[]): Promise<Map<string, string[]>> {
    const stmt = this.stmt.hasWritten;
    const writers = new Map<string, string[]>();
    for (const c of conversations) {
      const found = c.participants.filter((p) => stmt.get(c.id, p) !== undefined);
      if (found.length > 0) writers.set(c.id, found);
    }
    return writers;
  }

  async ping(): Promise<void> {
    this.stmt.ping.get();
  }

  async close(): Promise<void> {
    // Commits already requested are written, not dropped.
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    if (this.waiting.length > 0) this.flush();
    await Promise.all([this.checkpointer?.close(), this.reads?.close()]);
    if (this.db.open) this.db.close();
  }
}

/** Whether the file has an index of that name (what the migrations below look for). */
function hasIndex(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(name) !== undefined;
}

/**
 * Files written before 2026-12-04 kept two more indexes on messages, each a page write per
 * message: who wrote in a conversation (now `conversation_writers`, filled from the messages
 * here, once) and unread messages per recipient (now read from the conversations' counts).
 */
function dropPerMessageIndexes(db: Database.Database): void {
  const has = (name: string) => hasIndex(db, name);
  if (!has('messages_by_sender') && !has('messages_unread')) return;
  db.transaction(() => {
    if (has('messages_by_sender')) {
      db.exec(`INSERT OR IGNORE INTO conversation_writers (conversation, sender) SELECT DISTINCT conversation, sender FROM messages;
        DROP INDEX messages_by_sender;`);
    }
    if (has('messages_unread')) db.exec('DROP INDEX messages_unread;');
  }).immediate();
}

/**
 * Files written before 2026-12-05 (fourth session) keyed the feed by document, with a second
 * index by seq: each participant's entry of a message dirtied a page of both, one of them at a
 * random place. The feed is now keyed by seq alone (an entry is appended at the end of the user's
 * range and a rewritten document's entry found at the seq its write expected); the old table is
 * copied over once. Looked at again under the write lock: another process may have done it.
 */
function keyFeedBySeq(db: Database.Database): void {
  if (!hasIndex(db, 'feed_by_seq')) return;
  db.transaction(() => {
    if (!hasIndex(db, 'feed_by_seq')) return;
    db.exec(`CREATE TABLE feed_keyed_by_seq (
        user_id TEXT NOT NULL, collection TEXT NOT NULL, seq INTEGER NOT NULL, doc_id TEXT NOT NULL,
        PRIMARY KEY (user_id, collection, seq)
      ) WITHOUT ROWID;
      INSERT INTO feed_keyed_by_seq (user_id, collection, seq, doc_id) SELECT user_id, collection, seq, doc_id FROM feed;
      DROP TABLE feed;
      ALTER TABLE feed_keyed_by_seq RENAME TO feed;`);
  }).immediate();
}
