import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite-store';
import { registerFileRecordContractTests } from './records-contract';

registerFileRecordContractTests('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fw-records-'));
  const store = new SqliteStore({ path: join(dir, 'store.sqlite') });
  return {
    records: store.fileRecords(),
    async destroy() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite file records specifics', () => {
  it('records live in the store file: a reopened store reads them back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-records-'));
    const path = join(dir, 'store.sqlite');
    const now = new Date().toISOString();
    const rec = {
      id: randomUUID(),
      ownerId: 'aaaaaaaaaaaaaaaaaaaaaaaa',
      conversationId: 'c.aaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbb',
      filename: 'kept.pdf',
      declaredType: 'application/pdf',
      size: 12,
      status: 'ready' as const,
      mimeType: 'application/pdf',
      thumbnail: false,
      messageId: null,
      rejection: null,
      createdAt: now,
      updatedAt: now,
    };
    try {
      const first = new SqliteStore({ path });
      await first.fileRecords().create(rec);
      await first.close();
      const second = new SqliteStore({ path });
      expect(await second.fileRecords().get(rec.id)).toStrictEqual(rec);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('quota, message and cleanup look-ups use their indexes, never a table scan', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-records-plan-'));
    const store = new SqliteStore({ path: join(dir, 'store.sqlite') });
    try {
      store.fileRecords();
      const db = (store as unknown as { db: Database.Database }).db;
      const plan = (sql: string, ...args: unknown[]) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((p) => p.detail).join(' | ');
      const used = plan("SELECT COALESCE(SUM(size), 0) AS total FROM files WHERE owner_id = ? AND status IN ('uploading', 'ready')", 'a');
      expect(used).toMatch(/SEARCH files USING INDEX files_by_owner/);
      expect(plan('SELECT * FROM files WHERE message_id = ?', 'm')).toMatch(/SEARCH files USING INDEX files_by_message/);
      const stale = plan(
        `SELECT * FROM files WHERE updated_at < ?
           AND (status IN ('uploading', 'rejected', 'deleted') OR (status = 'ready' AND message_id IS NULL))
         ORDER BY updated_at LIMIT ?`,
        'x',
        10,
      );
      expect(stale).toMatch(/SEARCH files USING INDEX files_by_update/);
      expect(stale).not.toMatch(/TEMP B-TREE/);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
