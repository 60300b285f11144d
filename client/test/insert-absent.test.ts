import { type MessageDoc, newMessageDoc } from '@fetchwork/shared-schema';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { type BulkWriteRow, createRevision, now, type RxDocumentData, type RxStorageInstance } from 'rxdb';
import { afterEach, describe, expect, test } from 'vitest';
import { openInboxDatabase } from '../src/db/database';
import { getInboxStorage } from '../src/db/dexie-storage';
import { insertAbsent } from '../src/db/insert-absent';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function openDb() {
  const db = await openInboxDatabase({
    name: `absent-${crypto.randomUUID()}`,
    storage: getInboxStorage({ indexedDB, IDBKeyRange }),
    multiInstance: false,
  });
  closers.push(() => db.close());
  return db;
}

const message = (content: string): MessageDoc =>
  newMessageDoc({ id: crypto.randomUUID(), conversation: 'c.a.b', sender: 'a', recipient: 'b', content, at: new Date().toISOString() });

const row = (doc: MessageDoc, token: string): BulkWriteRow<MessageDoc> => ({
  document: { ...doc, _deleted: false, _attachments: {}, _meta: { lwt: now() }, _rev: createRevision(token) } as RxDocumentData<MessageDoc>,
});

describe('insertAbsent', () => {
  test('inserts the new documents, leaves the present ones as they are and names them, and the collection sees the inserts', async () => {
    const db = await openDb();
    const kept = message('stored before');
    await db.messages.insert(kept);
    const storage = db.messages.storageInstance as unknown as { originalStorageInstance: RxStorageInstance<MessageDoc, unknown, unknown> };
    const fresh = [message('one'), message('two'), message('three')];
    const live: string[][] = [];
    const sub = db.messages.find().$.subscribe((docs) => live.push(docs.map((d) => d.content).sort()));
    closers.push(async () => sub.unsubscribe());

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
    const db = await openDb();
    const a = message('a');
    await db.messages.insert(a);
    const storage = db.messages.storageInstance as unknown as { originalStorageInstance: RxStorageInstance<MessageDoc, unknown, unknown> };
    const events: number[] = [];
    const sub = db.messages.eventBulks$.subscribe((b) => events.push(b.events.length));
    closers.push(async () => sub.unsubscribe());
    expect(await insertAbsent(storage.originalStorageInstance, [row({ ...a, content: 'b' }, db.token)], 'test-context')).toEqual([a.id]);
    expect(events).toEqual([]);
    expect((await db.messages.findOne(a.id).exec())?.content).toBe('a');
  });
});
