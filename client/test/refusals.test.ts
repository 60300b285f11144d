import { newMessageDoc, newMessageId } from '@fetchwork/shared-schema';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { expect, test } from 'vitest';
import { openInboxDatabase } from '../src/db/database';
import { getInboxStorage } from '../src/db/dexie-storage';
import { OutboxStore } from '../src/db/outbox-store';
import { recordRefusals } from '../src/sync/refusals';

const message = (content: string) =>
  newMessageDoc({
    id: newMessageId(),
    conversation: 'c'.repeat(24),
    sender: 'a'.repeat(24),
    recipient: 'b'.repeat(24),
    content,
    at: new Date().toISOString(),
  });

test('a refusal is recorded for a write the replica still holds, not for one the user discarded meanwhile', async () => {
  const db = await openInboxDatabase({
    name: `refusals-${Date.now()}`,
    storage: getInboxStorage({ indexedDB, IDBKeyRange }),
    multiInstance: false,
  });
  try {
    const outbox = new OutboxStore(db.outbox);
    const held = message('still here');
    const discarded = message('discarded');
    await db.messages.bulkInsert([held, discarded]);
    await (await db.messages.findOne(discarded.id).exec())!.remove();
    await outbox.markPending('messages', held.id);

    await recordRefusals(outbox, db.messages, 'messages', [
      { id: held.id, code: 'FORBIDDEN', message: 'no' },
      { id: discarded.id, code: 'FORBIDDEN', message: 'no' },
      { id: null, code: 'VALIDATION_FAILED', message: 'no id' },
    ]);

    const entries = (await db.outbox.find().exec()).map((e) => ({ docId: e.docId, state: e.state, code: e.code }));
    expect(entries).toEqual([{ docId: held.id, state: 'failed', code: 'FORBIDDEN' }]);
  } finally {
    await db.close();
  }
});
