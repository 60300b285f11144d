import type Database from 'better-sqlite3';
import { FileIdTakenError, type FileRecord, type FileRecordPatch, type FileRecordStore } from './records';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS files (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  filename TEXT NOT NULL,
  declared_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  status TEXT NOT NULL,
  mime_type TEXT,
  thumbnail INTEGER NOT NULL,
  message_id TEXT,
  rejection TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_by_owner ON files (owner_id, status);
CREATE INDEX IF NOT EXISTS files_by_message ON files (message_id);
CREATE INDEX IF NOT EXISTS files_by_update ON files (updated_at);
`;

interface Row {
  id: string;
  owner_id: string;
  conversation_id: string;
  filename: string;
  declared_type: string;
  size: number;
  status: FileRecord['status'];
  mime_type: string | null;
  thumbnail: number;
  message_id: string | null;
  rejection: string | null;
  created_at: string;
  updated_at: string;
}

const fromRow = (r: Row): FileRecord => ({
  id: r.id,
  ownerId: r.owner_id,
  conversationId: r.conversation_id,
  filename: r.filename,
  declaredType: r.declared_type,
  size: r.size,
  status: r.status,
  mimeType: r.mime_type,
  thumbnail: r.thumbnail === 1,
  messageId: r.message_id,
  rejection: r.rejection ? JSON.parse(r.rejection) : null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** File records in the SyncStore's SQLite database (same file, own table). */
export class SqliteFileRecords implements FileRecordStore {
  private readonly insert: Database.Statement;
  private readonly byId: Database.Statement;
  private readonly bindStmt: Database.Statement;
  private readonly expireStmt: Database.Statement;
  private readonly byMessageStmt: Database.Statement;
  private readonly used: Database.Statement;
  private readonly staleStmt: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    this.insert = db.prepare(
      `INSERT INTO files (id, owner_id, conversation_id, filename, declared_type, size, status, mime_type, thumbnail, message_id, rejection, created_at, updated_at)
       VALUES (@id, @owner_id, @conversation_id, @filename, @declared_type, @size, @status, @mime_type, @thumbnail, @message_id, @rejection, @created_at, @updated_at)`,
    );
    this.byId = db.prepare('SELECT * FROM files WHERE id = ?');
    this.bindStmt = db.prepare(
      "UPDATE files SET message_id = @messageId WHERE id = @id AND status = 'ready' AND (message_id IS NULL OR message_id = @messageId)",
    );
    this.expireStmt = db.prepare(
      `UPDATE files SET status = 'deleted' WHERE id = @id AND updated_at < @before
         AND (status IN ('uploading', 'rejected', 'deleted') OR (status = 'ready' AND message_id IS NULL))`,
    );
    this.byMessageStmt = db.prepare('SELECT * FROM files WHERE message_id = ?');
    this.used = db.prepare("SELECT COALESCE(SUM(size), 0) AS total FROM files WHERE owner_id = ? AND status IN ('uploading', 'ready')");
    this.staleStmt = db.prepare(
      `SELECT * FROM files WHERE updated_at < ?
         AND (status IN ('uploading', 'rejected', 'deleted') OR (status = 'ready' AND message_id IS NULL))
       ORDER BY updated_at LIMIT ?`,
    );
  }

  async create(record: FileRecord): Promise<void> {
    try {
      this.insert.run({
        id: record.id,
        owner_id: record.ownerId,
        conversation_id: record.conversationId,
        filename: record.filename,
        declared_type: record.declaredType,
        size: record.size,
        status: record.status,
        mime_type: record.mimeType,
        thumbnail: record.thumbnail ? 1 : 0,
        message_id: record.messageId,
        rejection: record.rejection ? JSON.stringify(record.rejection) : null,
        created_at: record.createdAt,
        updated_at: record.updatedAt,
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new FileIdTakenError(record.id);
      throw err;
    }
  }

  async get(id: string): Promise<FileRecord | null> {
    const row = this.byId.get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  async update(id: string, patch: FileRecordPatch): Promise<void> {
    const sets: string[] = ['updated_at = @updated_at'];
    const values: Record<string, unknown> = { id, updated_at: patch.updatedAt };
    if (patch.status !== undefined) {
      sets.push('status = @status');
      values.status = patch.status;
    }
    if (patch.mimeType !== undefined) {
      sets.push('mime_type = @mime_type');
      values.mime_type = patch.mimeType;
    }
    if (patch.thumbnail !== undefined) {
      sets.push('thumbnail = @thumbnail');
      values.thumbnail = patch.thumbnail ? 1 : 0;
    }
    if (patch.rejection !== undefined) {
      sets.push('rejection = @rejection');
      values.rejection = patch.rejection ? JSON.stringify(patch.rejection) : null;
    }
    this.db.prepare(`UPDATE files SET ${sets.join(', ')} WHERE id = @id`).run(values);
  }

  async bind(id: string, messageId: string): Promise<boolean> {
    return this.bindStmt.run({ id, messageId }).changes === 1;
  }

  async expire(id: string, before: string): Promise<boolean> {
    return this.expireStmt.run({ id, before }).changes === 1;
  }

  async byMessage(messageId: string): Promise<FileRecord[]> {
    return (this.byMessageStmt.all(messageId) as Row[]).map(fromRow);
  }

  async usedBytes(ownerId: string): Promise<number> {
    return (this.used.get(ownerId) as { total: number }).total;
  }

  async stale(before: string, limit: number): Promise<FileRecord[]> {
    return (this.staleStmt.all(before, limit) as Row[]).map(fromRow);
  }

  async remove(ids: readonly string[]): Promise<void> {
    const del = this.db.prepare('DELETE FROM files WHERE id = ?');
    this.db.transaction(() => {
      for (const id of ids) del.run(id);
    })();
  }
}
