import { describe, expect, test } from 'vitest';
import { localDocChanges$ } from '../src/db/local-doc-changes';
import { testDatabases, testMessage } from './support/test-database';

const dbs = testDatabases();

describe('localDocChanges$', () => {
  test('a cue at once and on every write of its local document, none for other writes', async () => {
    const db = await dbs.open();
    let cues = 0;
    const sub = localDocChanges$(db, 'watched').subscribe(() => {
      cues += 1;
    });
    dbs.onClose(() => sub.unsubscribe());
    expect(cues).toBe(1);
    await db.upsertLocal('other', { n: 1 });
    await db.messages.insert(testMessage('hi'));
    await new Promise((r) => setTimeout(r, 20));
    expect(cues).toBe(1);
    await db.upsertLocal('watched', { n: 1 });
    await db.upsertLocal('watched', { n: 2 });
    await new Promise((r) => setTimeout(r, 20));
    expect(cues).toBe(3);
  });
});
