import { newMessageDoc } from '@fetchwork/shared-schema';
import Dexie from 'dexie';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { afterEach, describe, expect, test } from 'vitest';
import { openInboxDatabase } from '../src/db/database';
import { getInboxStorage } from '../src/db/dexie-storage';

const seen: unknown[] = [];
const listener = (parts: unknown) => seen.push(parts);

afterEach(() => {
  Dexie.on('storagemutated').unsubscribe(listener);
  seen.length = 0;
});

async function writeOne(storage: ReturnType<typeof getInboxStorage>, name: string): Promise<void> {
  const db = await openInboxDatabase({ name, storage, multiInstance: false });
  Dexie.on('storagemutated', listener);
  await db.messages.insert(
    newMessageDoc({
      id: crypto.randomUUID(),
      conversation: 'c.a.b',
      sender: 'a',
      recipient: 'b',
      content: 'hi',
      at: new Date().toISOString(),
    }),
  );
  await db.close();
}

describe('the inbox storage', () => {
  test('writes announce no storage mutations (Dexie liveQuery support is off)', async () => {
    await writeOne(getInboxStorage({ indexedDB, IDBKeyRange }), `lean-${crypto.randomUUID()}`);
    expect(seen).toEqual([]);
  });

  test('control: the stock Dexie storage announces them', async () => {
    await writeOne(getRxStorageDexie({ indexedDB, IDBKeyRange }), `stock-${crypto.randomUUID()}`);
    expect(seen.length).toBeGreaterThan(0);
  });
});
