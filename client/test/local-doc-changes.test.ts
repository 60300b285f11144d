import { newMessageDoc } from '@fetchwork/shared-schema';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { afterEach, describe, expect, test } from 'vitest';
import { openInboxDatabase } from '../src/db/database';
import { getInboxStorage } from '../src/db/dexie-storage';
import { localDocChanges$ } from '../src/db/local-doc-changes';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('localDocChanges$', () => {
  test('a cue at once and on every write of its local document, none for other writes', async () => {
    const db = await openInboxDatabase({
      name: `local-${crypto.randomUUID()}`,
      storage: getInboxStorage({ indexedDB, IDBKeyRange }),
      multiInstance: false,
    });
    closers.push(() => db.close());
    let cues = 0;
    const sub = localDocChanges$(db, 'watched').subscribe(() => {
      cues += 1;
    });
    closers.push(async () => sub.unsubscribe());
    expect(cues).toBe(1);
    await db.upsertLocal('other', { n: 1 });
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
    await new Promise((r) => setTimeout(r, 20));
    expect(cues).toBe(1);
    await db.upsertLocal('watched', { n: 1 });
    await db.upsertLocal('watched', { n: 2 });
    await new Promise((r) => setTimeout(r, 20));
    expect(cues).toBe(3);
  });
});
