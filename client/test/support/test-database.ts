import { type MessageDoc, newMessageDoc } from '@fetchwork/shared-schema';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { afterEach } from 'vitest';
import type { InboxDatabase } from '../../src/db/collections';
import { openInboxDatabase } from '../../src/db/database';
import { getInboxStorage } from '../../src/db/dexie-storage';

/**
 * Fresh inbox databases on fake-indexeddb as the app opens them (no dev-mode, one tab), for tests
 * of the data layer below the replication; each is closed after its test, with anything the test
 * registered through `onClose`.
 */
export function testDatabases(): { open(): Promise<InboxDatabase>; onClose(close: () => unknown): void } {
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  return {
    async open() {
      const db = await openInboxDatabase({
        name: `test-${crypto.randomUUID()}`,
        storage: getInboxStorage({ indexedDB, IDBKeyRange }),
        multiInstance: false,
      });
      closers.push(() => db.close());
      return db;
    },
    onClose(close) {
      closers.push(close);
    },
  };
}

/** A new message from a to b in conversation c.a.b, written now. */
export const testMessage = (content: string, id: string = crypto.randomUUID()): MessageDoc =>
  newMessageDoc({ id, conversation: 'c.a.b', sender: 'a', recipient: 'b', content, at: new Date().toISOString() });
