import type { ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import Database from 'better-sqlite3';

export interface FeedRow {
  docId: string;
  seq: number;
}

/**
 * Reads the server's SQLite file directly (read-only, beside the running server: WAL lets
 * readers work while it writes), so the check does not depend on the server's own read paths.
 */
export class StoreReader {
  constructor(private readonly path: string) {}

  private with<T>(read: (db: Database.Database) => T): T {
    const db = new Database(this.path, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      return db.transaction(() => read(db))();
    } finally {
      db.close();
    }
  }

  head(): number {
    return this.with(
      (db) => (db.prepare("SELECT value FROM counters WHERE name = 'seq'").get() as { value: number } | undefined)?.value ?? 0,
    );
  }

  messageCount(): number {
    return this.with((db) => (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n);
  }

  /** Everything, read in one transaction (one consistent snapshot). */
  snapshot(): {
    head: number;
    messages: MessageDoc[];
    conversations: ConversationDoc[];
    feeds: Map<string, { messages: FeedRow[]; conversations: FeedRow[] }>;
  } {
    return this.with((db) => {
      const head = (db.prepare("SELECT value FROM counters WHERE name = 'seq'").get() as { value: number } | undefined)?.value ?? 0;
      const messages = (db.prepare('SELECT body FROM messages').all() as { body: string }[]).map((r) => JSON.parse(r.body) as MessageDoc);
      const conversations = (db.prepare('SELECT body FROM conversations').all() as { body: string }[]).map(
        (r) => JSON.parse(r.body) as ConversationDoc,
      );
      const feeds = new Map<string, { messages: FeedRow[]; conversations: FeedRow[] }>();
      const rows = db.prepare('SELECT user_id, collection, doc_id, seq FROM feed ORDER BY seq').all() as {
        user_id: string;
        collection: 'messages' | 'conversations';
        doc_id: string;
        seq: number;
      }[];
      for (const r of rows) {
        let f = feeds.get(r.user_id);
        if (!f) {
          f = { messages: [], conversations: [] };
          feeds.set(r.user_id, f);
        }
        f[r.collection].push({ docId: r.doc_id, seq: r.seq });
      }
      return { head, messages, conversations, feeds };
    });
  }

  /** A user's feed entries up to `maxSeq` (what a checkpoint at `maxSeq` claims the replica holds). */
  feedUpTo(userId: string, collection: 'messages' | 'conversations', maxSeq: number): FeedRow[] {
    return this.with(
      (db) =>
        db
          .prepare('SELECT doc_id AS docId, seq FROM feed WHERE user_id = ? AND collection = ? AND seq <= ? ORDER BY seq')
          .all(userId, collection, maxSeq) as FeedRow[],
    );
  }
}
