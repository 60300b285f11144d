import { type ErrorCode, newMessageDoc, newMessageId } from '@fetchwork/shared-schema';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { expect, test } from 'vitest';
import { openInboxDatabase } from '../src/db/database';
import { getInboxStorage } from '../src/db/dexie-storage';
import { OutboxStore } from '../src/db/outbox-store';
import { recordRefusals } from '../src/sync/refusals';
import { refusalText } from '../src/ui/refusal-text';

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

test('a code this version does not know is recorded as a failure and shown with the server’s message; BLOCKED and CONVERSATION_LIMIT read as sentences', async () => {
  const db = await openInboxDatabase({
    name: `refusals-unknown-${Date.now()}`,
    storage: getInboxStorage({ indexedDB, IDBKeyRange }),
    multiInstance: false,
  });
  try {
    const outbox = new OutboxStore(db.outbox);
    const held = message('from the future');
    await db.messages.insert(held);
    const unknown = `FUTURE_${'X'.repeat(80)}` as ErrorCode;
    await recordRefusals(outbox, db.messages, 'messages', [{ id: held.id, code: unknown, message: 'a reason from a newer server' }]);
    const failure = await outbox.failure('messages', held.id);
    expect(failure).toEqual({ code: unknown.slice(0, 64), message: 'a reason from a newer server' });
    expect(refusalText(failure!)).toBe('a reason from a newer server');
  } finally {
    await db.close();
  }
  expect(refusalText({ code: 'BLOCKED', message: 'this conversation is blocked: no new messages' })).toMatch(/blocked/);
  expect(refusalText({ code: 'CONVERSATION_LIMIT', message: 'at most 5 …' })).toMatch(/once they reply/);
  expect(refusalText({ code: 'toString', message: 'odd' })).toBe('odd');
});
