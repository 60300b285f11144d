import type { MessageDoc } from '@fetchwork/shared-schema';
import { type BulkWriteRow, createRevision, now, type RxDocumentData, type RxStorageInstance } from 'rxdb';
import { describe, expect, test } from 'vitest';
import { insertAbsent } from '../src/db/insert-absent';
import { testDatabases, testMessage } from './support/test-database';

const dbs = testDatabases();

const row = (doc: MessageDoc, token: string): BulkWriteRow<MessageDoc> => ({
  document: { ...doc, _deleted: false, _attachments: {}, _meta: { lwt: now() }, _rev: createRevision(token) } as RxDocumentData<MessageDoc>,
});

describe('insertAbsent', () => {
  test('inserts the new documents, leaves the present ones as they are and names them, and the collection sees the inserts', async () => {
    const db = await dbs.open();
    const kept = testMessage('stored before');
    await db.messages.insert(kept);
    const storage = db.messages.storageInstance as unknown as { originalStorageInstance: RxStorageInstance<MessageDoc, unknown, unknown> };
    const fresh = [testMessage('one'), testMessage('two'), testMessage('three')];
    const live: string[][] = [];
    const sub = db.messages.find().$.subscribe((docs) => live.push(docs.map((d) => d.content).sort()));
    dbs.onClose(() => sub.unsubscribe());

    const present = await insertAbsent(
      storage.originalStorageInstance,
      [row(fresh[0]!, db.token), row({ ...kept, content: 'a late copy' }, db.token), row(fresh[1]!, db.token), row(fresh[2]!, db.token)],
      'test-context',
    );

    expect(present).toEqual([kept.id]);
    const stored = await db.messages.find().exec();
    expect(stored.map((d) => d.content).sort()).toEqual(['one', 'stored before', 'three', 'two']);
    await new Promise((r) => setTimeout(r, 50));
    expect(live.at(-1)).toEqual(['one', 'stored before', 'three', 'two']);
    // The document cache answers the inserted documents without a storage read of stale state.
    expect((await db.messages.findOne(fresh[1]!.id).exec())?.content).toBe('two');
  });

  test('nothing new: nothing written, every id named', async () => {
    const db = await dbs.open();
    const a = testMessage('a');
    await db.messages.insert(a);
    const storage = db.messages.storageInstance as unknown as { originalStorageInstance: RxStorageInstance<MessageDoc, unknown, unknown> };
    const events: number[] = [];
    const sub = db.messages.eventBulks$.subscribe((b) => events.push(b.events.length));
    dbs.onClose(() => sub.unsubscribe());
    expect(await insertAbsent(storage.originalStorageInstance, [row({ ...a, content: 'b' }, db.token)], 'test-context')).toEqual([a.id]);
    expect(events).toEqual([]);
    expect((await db.messages.findOne(a.id).exec())?.content).toBe('a');
  });
});
