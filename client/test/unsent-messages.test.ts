import { newMessageDoc, newMessageId } from '@fetchwork/shared-schema';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { firstValueFrom } from 'rxjs';
import { afterEach, expect, test } from 'vitest';
import type { InboxDatabase } from '../src/db/collections';
import { openInboxDatabase } from '../src/db/database';
import { getInboxStorage } from '../src/db/dexie-storage';
import { UnsentMessages } from '../src/db/unsent-messages';
import { until } from './support/devices';

const me = 'a'.repeat(24);
const other = 'b'.repeat(24);
const hour = 60 * 60 * 1000;

const message = (content: string, sender: string, at: Date, seq = 0) => ({
  ...newMessageDoc({
    id: newMessageId(),
    conversation: 'c'.repeat(24),
    sender,
    recipient: sender === me ? other : me,
    content,
    at: at.toISOString(),
  }),
  ...(seq > 0 ? { seq, sentAt: at.toISOString() } : {}),
});

const open: { db: InboxDatabase; unsent: UnsentMessages }[] = [];
async function openDb(name = `unsent-${Date.now()}-${Math.random()}`) {
  const db = await openInboxDatabase({ name, storage: getInboxStorage({ indexedDB, IDBKeyRange }), multiInstance: false });
  const unsent = new UnsentMessages(db, me);
  open.push({ db, unsent });
  return { db, unsent, name };
}
afterEach(async () => {
  for (const { db, unsent } of open.splice(0)) {
    unsent.close();
    await db.close();
  }
});

const sinceOf = async (db: InboxDatabase) =>
  ((await db.getLocal<{ since: string }>('unsent-since'))?.toJSON().data as { since: string })?.since;

test('own messages with seq 0 are unsent; sent ones and other people’s are not', async () => {
  const { db, unsent } = await openDb();
  const now = new Date();
  const mine = message('mine, unsent', me, now);
  await db.messages.bulkInsert([mine, message('mine, stored', me, now, 7), message('theirs', other, now)]);
  expect(await until(unsent.ids$, (ids) => ids.length > 0, 'unsent')).toEqual([mine.id]);
  // The echo brings the server's sequence: no longer unsent.
  await (await db.messages.findOne(mine.id).exec())!.incrementalPatch({ seq: 8, sentAt: now.toISOString() });
  await until(unsent.ids$, (ids) => ids.length === 0, 'none unsent');
});

test('a database without the mark is scanned once: an old unsent message is found', async () => {
  const { db, name } = await openDb();
  const old = message('written offline a week ago', me, new Date(Date.now() - 7 * 24 * hour));
  await db.messages.insert(old);
  // Reopened as by a version before the mark existed: no local document yet.
  await db.close();
  open.length = 0;
  const again = await openDb(name);
  expect(await until(again.unsent.ids$, (ids) => ids.length > 0, 'the old message')).toEqual([old.id]);
  expect(Date.parse((await sinceOf(again.db))!)).toBeLessThanOrEqual(Date.parse(old.createdAt));
});

test('a message created below the mark (the clock went back) is covered before it is written', async () => {
  const { db, unsent } = await openDb();
  await firstValueFrom(unsent.ids$);
  const since = (await sinceOf(db))!;
  const back = message('clock set back a day', me, new Date(Date.parse(since) - 24 * hour));
  await unsent.cover(back.createdAt);
  await db.messages.insert(back);
  expect(await until(unsent.ids$, (ids) => ids.length > 0, 'the message')).toEqual([back.id]);
});

test('the mark moves up when it lags far behind, never above an unsent message', async () => {
  const { db, unsent } = await openDb();
  const markMovedUp = (above: number, what: string) =>
    until(
      db.getLocal$<{ since: string }>('unsent-since'),
      (d) => !!d && Date.parse((d.toJSON().data as { since: string }).since) > above,
      what,
    );
  const old = message('two days old, unsent', me, new Date(Date.now() - 48 * hour));
  await unsent.cover(old.createdAt);
  await db.messages.insert(old);
  await until(unsent.ids$, (ids) => ids.length === 1, 'the old message');
  await db.upsertLocal('unsent-since', { since: new Date(Date.now() - 30 * 24 * hour).toISOString() });
  // The next change of the set moves it, to an hour below the oldest unsent message.
  const fresh = message('just now', me, new Date());
  await unsent.cover(fresh.createdAt);
  await db.messages.insert(fresh);
  await markMovedUp(Date.now() - 29 * 24 * hour, 'the mark moved up');
  expect(Date.parse((await sinceOf(db))!)).toBeLessThanOrEqual(Date.parse(old.createdAt));
  // Once the old one is sent, up to about an hour below now.
  await (await db.messages.findOne(old.id).exec())!.incrementalPatch({ seq: 3, sentAt: old.createdAt });
  await markMovedUp(Date.now() - 2 * hour, 'the mark moved up to about now');
  expect(await until(unsent.ids$, (ids) => ids.length === 1, 'one left')).toEqual([fresh.id]);
});
