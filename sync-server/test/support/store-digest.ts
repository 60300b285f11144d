import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';

/** A hash of every row the store holds, read through a second connection to the same file. */
export function storeDigest(sqlitePath: string): string {
  const db = new Database(sqlitePath, { readonly: true });
  try {
    const hash = createHash('sha256');
    for (const table of ['messages', 'conversations', 'feed', 'counters']) {
      for (const row of db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all()) hash.update(JSON.stringify(row));
    }
    return hash.digest('hex');
  } finally {
    db.close();
  }
}
