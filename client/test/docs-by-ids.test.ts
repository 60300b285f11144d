import type { MessageDoc } from '@fetchwork/shared-schema';
import type { RxDocument } from 'rxdb';
import { describe, expect, test } from 'vitest';
import { docsByIds$ } from '../src/db/docs-by-ids';
import { testDatabases, testMessage } from './support/test-database';

const dbs = testDatabases();
const settle = () => new Promise((r) => setTimeout(r, 50));

describe('docsByIds$', () => {
  test('answers the documents it asks for, again when one of them changes, and not for writes to others', async () => {
    const db = await dbs.open();
    const [a, b, other] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await db.messages.insert(testMessage('first', a));
    const answers: Map<string, RxDocument<MessageDoc>>[] = [];
    const sub = docsByIds$(db.messages, [a, b]).subscribe((m) => answers.push(m));
    dbs.onClose(() => sub.unsubscribe());
    await settle();
    expect(answers.map((m) => [...m.keys()])).toEqual([[a]]);

    await db.messages.insert(testMessage('not asked for', other));
    await settle();
    expect(answers).toHaveLength(1);

    await db.messages.insert(testMessage('second', b));
    await settle();
    expect(answers).toHaveLength(2);
    expect([...answers[1]!.keys()].sort()).toEqual([a, b].sort());

    await (await db.messages.findOne(a).exec())!.incrementalPatch({ content: 'edited' });
    await settle();
    expect(answers).toHaveLength(3);
    expect(answers[2]!.get(a)?.content).toBe('edited');
    expect(answers[2]!.get(b)?.content).toBe('second');

    await (await db.messages.findOne(b).exec())!.remove();
    await settle();
    expect(answers).toHaveLength(4);
    expect([...answers[3]!.keys()]).toEqual([a]);
  });

  test('no ids: an empty answer at once', async () => {
    const db = await dbs.open();
    const answers: number[] = [];
    docsByIds$(db.messages, [])
      .subscribe((m) => answers.push(m.size))
      .unsubscribe();
    expect(answers).toEqual([0]);
  });
});
