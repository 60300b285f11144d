import type Database from 'better-sqlite3';
import type { BlockRecord, BlockRecordStore } from './block-records';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS blocks (
  blocker TEXT NOT NULL,
  blocked TEXT NOT NULL,
  blocked_at TEXT NOT NULL,
  PRIMARY KEY (blocker, blocked)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blocks_by_blocked ON blocks (blocked, blocker);
`;

/** Blocks in the SyncStore's SQLite database (same file, own table). */
export class SqliteBlockRecords implements BlockRecordStore {
  private readonly insert: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly list: Database.Statement;
  private readonly either: Database.Statement;

  constructor(db: Database.Database) {
    db.exec(SCHEMA);
    this.insert = db.prepare('INSERT OR IGNORE INTO blocks (blocker, blocked, blocked_at) VALUES (?, ?, ?)');
    this.remove = db.prepare('DELETE FROM blocks WHERE blocker = ? AND blocked = ?');
    this.list = db.prepare('SELECT blocked, blocked_at FROM blocks WHERE blocker = ? ORDER BY blocked_at DESC, blocked');
    // UNION ALL: asked on every push that creates a message, and a dedupe would build a temporary b-tree each time.
    this.either = db
      .prepare('SELECT blocked AS other FROM blocks WHERE blocker = ? UNION ALL SELECT blocker FROM blocks WHERE blocked = ?')
      .pluck();
  }

  async block(blocker: string, blocked: string, at: string): Promise<void> {
    this.insert.run(blocker, blocked, at);
  }

  async unblock(blocker: string, blocked: string): Promise<void> {
    this.remove.run(blocker, blocked);
  }

  async listBlocked(blocker: string): Promise<BlockRecord[]> {
    return (this.list.all(blocker) as { blocked: string; blocked_at: string }[]).map((r) => ({
      userId: r.blocked,
      blockedAt: r.blocked_at,
    }));
  }

  async separatedFrom(userId: string): Promise<string[]> {
    return this.either.all(userId, userId) as string[];
  }
}
