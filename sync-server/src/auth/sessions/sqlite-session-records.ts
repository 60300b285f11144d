import type Database from 'better-sqlite3';
import type { Rotation, SessionEndReason, SessionRecord, SessionRecordStore } from './session-records';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS auth_sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  previous_hash TEXT,
  rotated_at INTEGER NOT NULL,
  device_key_hash TEXT NOT NULL,
  persistent INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  revoked_reason TEXT,
  user_agent TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS auth_sessions_by_user ON auth_sessions (user_id, revoked_at);
CREATE INDEX IF NOT EXISTS auth_sessions_by_revocation ON auth_sessions (revoked_at);
CREATE INDEX IF NOT EXISTS auth_sessions_by_expiry ON auth_sessions (expires_at);
`;

interface Row {
  id: string;
  user_id: string;
  token_hash: string;
  previous_hash: string | null;
  rotated_at: number;
  device_key_hash: string;
  persistent: number;
  created_at: number;
  expires_at: number;
  absolute_expires_at: number;
  revoked_at: number | null;
  revoked_reason: SessionEndReason | null;
  user_agent: string | null;
}

const fromRow = (r: Row): SessionRecord => ({
  id: r.id,
  userId: r.user_id,
  tokenHash: r.token_hash,
  previousHash: r.previous_hash,
  rotatedAt: r.rotated_at,
  deviceKeyHash: r.device_key_hash,
  persistent: r.persistent === 1,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  absoluteExpiresAt: r.absolute_expires_at,
  revokedAt: r.revoked_at,
  revokedReason: r.revoked_reason,
  userAgent: r.user_agent,
});

/** Sessions in the SyncStore's SQLite database (same file, own table). */
export class SqliteSessionRecords implements SessionRecordStore {
  private readonly insert: Database.Statement;
  private readonly byId: Database.Statement;
  private readonly rotateStmt: Database.Statement;
  private readonly revokeStmt: Database.Statement;
  private readonly revokeUser: Database.Statement;
  private readonly revokedStmt: Database.Statement;
  private readonly deleteStmt: Database.Statement;

  constructor(db: Database.Database) {
    db.exec(SCHEMA);
    this.insert = db.prepare(
      `INSERT INTO auth_sessions (id, user_id, token_hash, previous_hash, rotated_at, device_key_hash, persistent, created_at, expires_at, absolute_expires_at, revoked_at, revoked_reason, user_agent)
       VALUES (@id, @user_id, @token_hash, @previous_hash, @rotated_at, @device_key_hash, @persistent, @created_at, @expires_at, @absolute_expires_at, @revoked_at, @revoked_reason, @user_agent)`,
    );
    this.byId = db.prepare('SELECT * FROM auth_sessions WHERE id = ?');
    this.rotateStmt = db.prepare(
      `UPDATE auth_sessions SET token_hash = @tokenHash, previous_hash = @previousHash, rotated_at = @rotatedAt, expires_at = @expiresAt
       WHERE id = @id AND token_hash = @expectedHash AND revoked_at IS NULL`,
    );
    this.revokeStmt = db.prepare(
      'UPDATE auth_sessions SET revoked_at = @at, revoked_reason = @reason WHERE id = @id AND revoked_at IS NULL',
    );
    this.revokeUser = db.prepare(
      'UPDATE auth_sessions SET revoked_at = @at, revoked_reason = @reason WHERE user_id = @userId AND revoked_at IS NULL RETURNING id',
    );
    this.revokedStmt = db.prepare('SELECT id, user_id FROM auth_sessions WHERE revoked_at >= ?');
    this.deleteStmt = db.prepare(
      'DELETE FROM auth_sessions WHERE revoked_at < @before OR expires_at < @before OR absolute_expires_at < @before',
    );
  }

  async create(r: SessionRecord): Promise<void> {
    this.insert.run({
      id: r.id,
      user_id: r.userId,
      token_hash: r.tokenHash,
      previous_hash: r.previousHash,
      rotated_at: r.rotatedAt,
      device_key_hash: r.deviceKeyHash,
      persistent: r.persistent ? 1 : 0,
      created_at: r.createdAt,
      expires_at: r.expiresAt,
      absolute_expires_at: r.absoluteExpiresAt,
      revoked_at: r.revokedAt,
      revoked_reason: r.revokedReason,
      user_agent: r.userAgent,
    });
  }

  async get(id: string): Promise<SessionRecord | null> {
    const row = this.byId.get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  async rotate(id: string, rotation: Rotation): Promise<boolean> {
    return this.rotateStmt.run({ id, ...rotation }).changes === 1;
  }

  async revoke(id: string, reason: SessionEndReason, at: number): Promise<SessionRecord | null> {
    this.revokeStmt.run({ id, reason, at });
    return this.get(id);
  }

  async revokeAllOfUser(userId: string, reason: SessionEndReason, at: number): Promise<string[]> {
    return (this.revokeUser.all({ userId, reason, at }) as { id: string }[]).map((r) => r.id);
  }

  async revokedSince(since: number): Promise<{ id: string; userId: string }[]> {
    return (this.revokedStmt.all(since) as { id: string; user_id: string }[]).map((r) => ({ id: r.id, userId: r.user_id }));
  }

  async deleteEndedBefore(before: number): Promise<number> {
    return this.deleteStmt.run({ before }).changes;
  }
}
