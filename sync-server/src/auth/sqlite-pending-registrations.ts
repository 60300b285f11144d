import type Database from 'better-sqlite3';
import type { PendingRegistration, PendingRegistrationStore } from './pending-registrations';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pending_registrations (
  email TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_registrations_by_expiry ON pending_registrations (expires_at);
`;

interface Row {
  email: string;
  name: string;
  password_hash: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
}

/** Pending registrations in the SyncStore's SQLite database (same file, own table). */
export class SqlitePendingRegistrations implements PendingRegistrationStore {
  private readonly upsert: Database.Statement;
  private readonly takeValid: Database.Statement<[string, number], Row>;
  private readonly expired: Database.Statement<[number]>;

  constructor(db: Database.Database) {
    db.exec(SCHEMA);
    this.upsert = db.prepare(
      `INSERT INTO pending_registrations (email, name, password_hash, token_hash, created_at, expires_at)
       VALUES (@email, @name, @passwordHash, @tokenHash, @createdAt, @expiresAt)
       ON CONFLICT (email) DO UPDATE SET name = excluded.name, password_hash = excluded.password_hash,
         token_hash = excluded.token_hash, created_at = excluded.created_at, expires_at = excluded.expires_at`,
    );
    this.takeValid = db.prepare<[string, number], Row>(
      'DELETE FROM pending_registrations WHERE token_hash = ? AND expires_at > ? RETURNING *',
    );
    this.expired = db.prepare<[number]>('DELETE FROM pending_registrations WHERE expires_at <= ?');
  }

  async put(r: PendingRegistration): Promise<void> {
    this.upsert.run(r);
  }

  async take(tokenHash: string, now: number): Promise<PendingRegistration | null> {
    const row = this.takeValid.get(tokenHash, now);
    return row
      ? {
          email: row.email,
          name: row.name,
          passwordHash: row.password_hash,
          tokenHash: row.token_hash,
          createdAt: row.created_at,
          expiresAt: row.expires_at,
        }
      : null;
  }

  async deleteExpired(now: number): Promise<number> {
    return this.expired.run(now).changes;
  }
}
