import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { expect, test } from 'vitest';
import { deferUpstreamCheckpoints } from '../src/db/deferred-up-checkpoint';
import { getInboxStorage } from '../src/db/dexie-storage';
import { insertAbsent } from '../src/db/insert-absent';
import { cacheMetaInstanceWrites } from '../src/db/meta-write-cache';
import { masterState, openMetaInstance as openMeta, patchMetaInstances } from './support/meta-instance';

const base = getInboxStorage({ indexedDB, IDBKeyRange });

/** The base storage, counting the meta-instance reads that reach IndexedDB (ids asked for). */
const countingStorage = (reads: string[][]) =>
  patchMetaInstances(base, (instance) => {
    const find = instance.findDocumentsById.bind(instance);
    instance.findDocumentsById = (ids: string[], withDeleted: boolean) => {
      reads.push(ids);
      return find(ids, withDeleted);
    };
  });

let counter = 0;

test('rows the instance wrote are read back without IndexedDB, as IndexedDB holds them; others are read from it', async () => {
  const reads: string[][] = [];
  const name = `meta-cache-${++counter}`;
  const meta = await openMeta(cacheMetaInstanceWrites(countingStorage(reads)), name);
  const one = masterState('m1', 'one', '1-a');
  await meta.bulkWrite([{ document: one }, { document: masterState('m2', 'two', '1-a') }], 'test');
  const two = masterState('m2', 'two, again', '2-b');
  const stored2 = (await meta.findDocumentsById(['m2|0'], false))[0];
  expect(reads).toEqual([]);
  await meta.bulkWrite([{ previous: stored2, document: two }], 'test');

  const cached = await meta.findDocumentsById(['m1|0', 'm2|0', 'm3|0'], false);
  expect(reads).toEqual([['m3|0']]);
  const plain = await openMeta(base, name);
  const fromIdb = await plain.findDocumentsById(['m1|0', 'm2|0'], false);
  const byId = (docs: { id: string }[]): Record<string, any> => Object.fromEntries(docs.map((d) => [d.id, d]));
  expect(byId(cached)).toEqual(byId(fromIdb));
  expect(byId(cached)['m2|0'].docData.content).toBe('two, again');
  await plain.close();

  // What a caller does with a row it read does not change the next read.
  cached[0]!.docData.content = 'changed by a caller';
  expect((await meta.findDocumentsById(['m1|0'], false))[0].docData.content).toBe('one');
  await meta.close();
});

test('a refused write is not kept: the stored row is read from IndexedDB', async () => {
  const reads: string[][] = [];
  const meta = await openMeta(cacheMetaInstanceWrites(countingStorage(reads)), `meta-cache-${++counter}`);
  await meta.bulkWrite([{ document: masterState('m1', 'one', '1-a') }], 'test');
  // No `previous` for a row that exists: a conflict (409), as when another writer moved it.
  const result = await meta.bulkWrite([{ document: masterState('m1', 'not stored', '2-x') }], 'test');
  expect(result.error.map((e) => e.status)).toEqual([409]);
  const [row] = await meta.findDocumentsById(['m1|0'], false);
  expect(row.docData.content).toBe('one');
  expect(reads).toEqual([['m1|0']]);
  await meta.close();
});

test('only the most recent writes are kept', async () => {
  const reads: string[][] = [];
  const meta = await openMeta(cacheMetaInstanceWrites(countingStorage(reads), 2), `meta-cache-${++counter}`);
  for (const id of ['m1', 'm2', 'm3']) await meta.bulkWrite([{ document: masterState(id, id, '1-a') }], 'test');
  const rows = await meta.findDocumentsById(['m1|0', 'm2|0', 'm3|0'], false);
  expect(rows.map((r) => r.docData.content).sort()).toEqual(['m1', 'm2', 'm3']);
  expect(reads).toEqual([['m1|0']]);
  await meta.close();
});

test('rows inserted around bulkWrite (insertAbsent, a catch-up) go to IndexedDB with one add each and are read back from memory', async () => {
  const reads: string[][] = [];
  const bulkWrites: number[] = [];
  const name = `meta-cache-${++counter}`;
  const storage = patchMetaInstances(countingStorage(reads), (instance) => {
    const bulkWrite = instance.bulkWrite.bind(instance);
    instance.bulkWrite = (rows, context) => {
      bulkWrites.push(rows.length);
      return bulkWrite(rows, context);
    };
  });
  const meta = await openMeta(deferUpstreamCheckpoints(cacheMetaInstanceWrites(storage)), name);
  await meta.bulkWrite([{ document: masterState('m1', 'one', '1-a') }], 'test');
  const present = await insertAbsent(
    meta,
    ['m1', 'm2', 'm3'].map((id) => ({ document: masterState(id, `${id} inserted`, '1-b') })),
    'test',
  );
  expect(present).toEqual(['m1|0']);
  expect(bulkWrites).toEqual([1]);
  const rows = await meta.findDocumentsById(['m1|0', 'm2|0', 'm3|0'], false);
  expect(reads).toEqual([]);
  expect(rows.map((r) => r.docData.content).sort()).toEqual(['m2 inserted', 'm3 inserted', 'one']);
  const plain = await openMeta(base, name);
  expect((await plain.findDocumentsById(['m2|0', 'm3|0'], false)).map((r) => r.docData.content).sort()).toEqual([
    'm2 inserted',
    'm3 inserted',
  ]);
  await plain.close();
  await meta.close();
});

test('a row is read from IndexedDB while a write of it is in flight, and from memory once the write is answered', async () => {
  const reads: string[][] = [];
  const meta = await openMeta(cacheMetaInstanceWrites(countingStorage(reads)), `meta-cache-${++counter}`);
  const one = masterState('m1', 'one', '1-a');
  await meta.bulkWrite([{ document: one }], 'test');
  const writing = meta.bulkWrite([{ previous: one, document: masterState('m1', 'two', '2-b') }], 'test');
  const during = await meta.findDocumentsById(['m1|0'], false);
  expect(reads).toEqual([['m1|0']]);
  expect(['one', 'two']).toContain(during[0].docData.content);
  await writing;
  expect((await meta.findDocumentsById(['m1|0'], false))[0].docData.content).toBe('two');
  expect(reads).toHaveLength(1);
  await meta.close();
});
