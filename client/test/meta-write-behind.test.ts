import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import type { BulkWriteRow } from 'rxdb';
import { expect, test } from 'vitest';
import { waitFor } from '../../sync-server/test/support/test-server';
import { getInboxStorage } from '../src/db/dexie-storage';
import { insertAbsent } from '../src/db/insert-absent';
import { deferMetaWrites } from '../src/db/meta-write-behind';
import { masterState, openMetaInstance as openMeta, patchMetaInstances } from './support/meta-instance';

const base = getInboxStorage({ indexedDB, IDBKeyRange });
const DELAY = 30;

/** The base storage, recording the rows of every meta-instance bulkWrite that reaches it (one entry per call). */
const recordingStorage = (calls: string[][]) =>
  patchMetaInstances(base, (instance) => {
    const bulkWrite = instance.bulkWrite.bind(instance);
    instance.bulkWrite = (rows: BulkWriteRow<any>[], context: string) => {
      calls.push(rows.map((r) => r.document.id));
      return bulkWrite(rows, context);
    };
  });

let counter = 0;

const checkpoint = (rev: string) => ({
  id: 'down|1',
  itemId: 'down',
  isCheckpoint: '1',
  checkpointData: { seq: Number(rev[0]) },
  _deleted: false,
  _attachments: {},
  _meta: { lwt: Date.now() },
  _rev: rev,
});

const contents = async (name: string, ids: string[]) => {
  const plain = await openMeta(base, name);
  const rows = await plain.findDocumentsById(ids, false);
  await plain.close();
  return Object.fromEntries(rows.map((r) => [r.id, r.docData.content]));
};

test('master states are answered at once, read back as written, and stored together after the delay', async () => {
  const calls: string[][] = [];
  const name = `meta-behind-${++counter}`;
  const meta = await openMeta(deferMetaWrites(recordingStorage(calls), DELAY), name);
  const one = masterState('m1', 'one', '1-a');
  expect((await meta.bulkWrite([{ document: one }], 'test')).error).toEqual([]);
  await meta.bulkWrite([{ document: masterState('m2', 'two', '1-a') }], 'test');
  // The echo's state over the push's: the caller read the waiting row as its previous.
  const [read] = await meta.findDocumentsById(['m1|0'], false);
  expect(read.docData.content).toBe('one');
  await meta.bulkWrite([{ previous: read, document: masterState('m1', 'one, stamped', '2-b') }], 'test');
  expect(calls).toEqual([]);
  expect(await contents(name, ['m1|0', 'm2|0'])).toEqual({});

  await waitFor(async () => Object.keys(await contents(name, ['m1|0', 'm2|0'])).length === 2, 'the rows to be stored');
  expect(await contents(name, ['m1|0', 'm2|0'])).toEqual({ 'm1|0': 'one, stamped', 'm2|0': 'two' });
  // New rows go in with one `add` each (insert-absent.ts), not through bulkWrite; nothing else was written.
  expect(calls).toEqual([]);

  // A row IndexedDB holds is updated over its stored state, in one bulkWrite for all of them.
  const [stored1] = await meta.findDocumentsById(['m1|0'], false);
  const [stored2] = await meta.findDocumentsById(['m2|0'], false);
  await meta.bulkWrite([{ previous: stored1, document: masterState('m1', 'one, read', '3-c') }], 'test');
  await meta.bulkWrite([{ previous: stored2, document: masterState('m2', 'two, stamped', '2-c') }], 'test');
  await waitFor(async () => (await contents(name, ['m1|0']))['m1|0'] === 'one, read', 'the updates to be stored');
  expect(calls).toEqual([['m1|0', 'm2|0']]);
  expect(await contents(name, ['m2|0'])).toEqual({ 'm2|0': 'two, stamped' });
  await meta.close();
});

test('a write over another state than the one waiting is refused as IndexedDB would refuse it', async () => {
  const meta = await openMeta(deferMetaWrites(base, DELAY), `meta-behind-${++counter}`);
  const one = masterState('m1', 'one', '1-a');
  await meta.bulkWrite([{ document: one }], 'test');
  const result = await meta.bulkWrite([{ document: masterState('m1', 'not stored', '2-x') }], 'test');
  expect(result.error.map((e) => [e.status, e.documentId])).toEqual([[409, 'm1|0']]);
  expect((result.error[0] as { documentInDb: { docData: { content: string } } }).documentInDb.docData.content).toBe('one');
  expect((await meta.findDocumentsById(['m1|0'], false))[0].docData.content).toBe('one');
  await meta.close();
});

test('closing drops the master states that wait; checkpoints are stored at once', async () => {
  const calls: string[][] = [];
  const name = `meta-behind-${++counter}`;
  const meta = await openMeta(deferMetaWrites(recordingStorage(calls), 60_000), name);
  await meta.bulkWrite([{ document: masterState('m1', 'one', '1-a') }, { document: checkpoint('1-a') }], 'test');
  expect(calls).toEqual([['down|1']]);
  await meta.close();
  const plain = await openMeta(base, name);
  expect((await plain.findDocumentsById(['m1|0', 'down|1'], false)).map((r) => r.id)).toEqual(['down|1']);
  await plain.close();
});

test('a waiting row stored over an older copy that IndexedDB holds replaces it', async () => {
  const name = `meta-behind-${++counter}`;
  const plain = await openMeta(base, name);
  await plain.bulkWrite([{ document: masterState('m1', 'an older copy', '5-z') }], 'test');
  await plain.close();
  const meta = await openMeta(deferMetaWrites(base, DELAY), name);
  // RxDB writes a master state it has not read without `previous`; the writer's inserts go around bulkWrite.
  await meta.bulkWrite([{ document: masterState('m1', 'the newest', '1-a') }], 'test');
  expect(await insertAbsent(meta, [{ document: masterState('m2', 'inserted', '1-a') }], 'test')).toEqual([]);
  await waitFor(async () => Object.keys(await contents(name, ['m2|0'])).length === 1, 'the rows to be stored');
  expect(await contents(name, ['m1|0', 'm2|0'])).toEqual({ 'm1|0': 'the newest', 'm2|0': 'inserted' });
  // A row that waits or is stored by this instance is present to an insert, which leaves it.
  expect(
    await insertAbsent(meta, [{ document: masterState('m3', 'new', '1-a') }, { document: masterState('m3', 'again', '1-b') }], 'test'),
  ).toEqual(['m3|0']);
  await meta.close();
});
