import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite-store';
import { registerPushRecordContractTests } from './records-contract';

registerPushRecordContractTests('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fw-push-records-'));
  const store = new SqliteStore({ path: join(dir, 'store.sqlite') });
  return {
    records: store.pushRecords(),
    async destroy() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite push records specifics', () => {
  it('live in the store file: a second store on the file (another process) reads them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-push-records-'));
    const path = join(dir, 'store.sqlite');
    const first = new SqliteStore({ path });
    const second = new SqliteStore({ path });
    try {
      const record = {
        endpoint: 'https://fcm.googleapis.com/fcm/send/x',
        keys: { p256dh: 'k', auth: 'a' },
        userId: 'aaaaaaaaaaaaaaaaaaaaaaaa',
        sessionId: 's',
        createdAt: new Date().toISOString(),
        lastSuccessAt: null,
        failures: 0,
      };
      await first.pushRecords().upsertSubscription(record, 20);
      expect(await second.pushRecords().getSubscription(record.endpoint)).toStrictEqual(record);
    } finally {
      await first.close();
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
