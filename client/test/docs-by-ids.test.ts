import { type MessageDoc, newMessageDoc } from '@fetchwork/shared-schema';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import type { RxDocument } from 'rxdb';
import { afterEach, describe, expect, test } from 'vitest';
import { openInboxDatabase } from '../src/db/database';
import { docsByIds$ } from '../src/db/docs-by-ids';
import { getInboxStorage } from '../src/db/dexie-storage';

const message = (id: string, content: string): MessageDoc =>
  newMessageDoc({ id, conversation: 'c.a.b', sender: 'a', recipient: 'b', content, at: new Date().toISOString() });

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function openDb() {
  const db = await openInboxDatabase({
    name: `ids-${crypto.randomUUID()}`,
    storage: getInboxStorage({ indexedDB, IDBKeyRange }),
    multiInstance: false,
  });
  closers.push(() => db.close());
  return db;
}

describe('docsByIds$', () => {
  test('answers the documents it asks for, again when one of them changes, and not for writes to others', async () => {
    const db = await openDb();
    const [a, b, other] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await db.messages.insert(message(a, 'first'));
    const answers: Map<string, RxDocument<MessageDoc>>[] = [];
    const sub = docsByIds$(db.messages, [a, b]).subscribe((m) => answers.push(m));
    closers.push(async () => sub.unsubscribe());
    const settle = () => new Promise((r) => setTimeout(r, 50));
    await settle();
    expect(answers.map((m) => [...m.keys()])).toEqual([[a]]);

    await db.messages.insert(message(other, 'not asked for'));
    await settle();
    expect(answers).toHaveLength(1);

    await db.messages.insert(message(b, 'second'));
    await settle();
    expect(answers).toHaveLength(2);
    expect([...answers[1]!.keys()].sort()).toEqual([a, b].sort());

    await (await db.messages.findOne(a).exec())!.incrementalPatch({ content: 'edited' });
    await settle();
    expect(answers).toHaveLength(3);
    expect(answers[2]!.get(a)?.content).toBe('edited');
  });

  test('no ids: an empty answer at once', async () => {
    const db = await openDb();
    const answers: number[] = [];
    docsByIds$(db.messages, [])
      .subscribe((m) => answers.push(m.size))
      .unsubscribe();
    expect(answers).toEqual([0]);
  });
});
