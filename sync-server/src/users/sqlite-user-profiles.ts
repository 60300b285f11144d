import type Database from 'better-sqlite3';
import type { UserProfile, UserProfileStore } from './profile-store';

// Its own table beside `users` (the accounts' table): the directory never writes accounts.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS user_profiles (
  id TEXT PRIMARY KEY,
  name TEXT,
  name_version INTEGER NOT NULL DEFAULT 0,
  applied_name TEXT
) WITHOUT ROWID;
`;

interface Row {
  profile_name: string | null;
  name_version: number | null;
  applied_name: string | null;
  account_name: string | null;
}

/** User profiles in the SyncStore's SQLite database (same file, own table). */
export class SqliteUserProfiles implements UserProfileStore {
  private readonly byId: Database.Statement<[string, string], Row>;
  private readonly save: Database.Statement;
  private readonly applied: Database.Statement;

  constructor(db: Database.Database) {
    db.exec(SCHEMA);
    // Two point reads joined on the id: the directory's row and the account's name, either may be missing.
    this.byId = db.prepare(
      `SELECT p.name AS profile_name, p.name_version, p.applied_name,
              (SELECT u.name FROM users u WHERE u.id = ?) AS account_name
         FROM (SELECT 1) LEFT JOIN user_profiles p ON p.id = ?`,
    );
    this.save = db.prepare(
      `INSERT INTO user_profiles (id, name, name_version) VALUES (@id, @name, @version)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_version = excluded.name_version
       WHERE user_profiles.name_version <= excluded.name_version`,
    );
    this.applied = db.prepare(
      `INSERT INTO user_profiles (id, applied_name) VALUES (?, ?)
       ON CONFLICT (id) DO UPDATE SET applied_name = excluded.applied_name`,
    );
  }

  async get(ids: readonly string[]): Promise<UserProfile[]> {
    return [...new Set(ids)].map((id) => {
      const row = this.byId.get(id, id);
      return {
        id,
        name: row?.profile_name ?? row?.account_name ?? null,
        nameVersion: row?.profile_name ? (row.name_version ?? 0) : 0,
        appliedName: row?.applied_name ?? null,
      };
    });
  }

  async saveName(id: string, name: string, version: number): Promise<boolean> {
    return this.save.run({ id, name, version }).changes > 0;
  }

  async markApplied(id: string, name: string): Promise<void> {
    this.applied.run(id, name);
  }
}
