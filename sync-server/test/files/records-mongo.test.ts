import { randomBytes } from 'node:crypto';
import { afterAll, describe, it } from 'vitest';
import { createMongoStore } from '../../src/store/mongo/connect';
import { registerFileRecordContractTests } from './records-contract';

/**
 * The file record contract against a real MongoDB, decided exactly as test/store/mongo-store.test.ts
 * decides: MONGODB_URI (a replica set, see docs/mongodb.md), else mongodb-memory-server if someone
 * installed it where it can fetch a mongod. Neither exists on the build machine, so there this file
 * says loudly that it skipped, and registers a skipped test that shows up in the run's summary.
 */

type Target = { uri: string; source: string; stop?: () => Promise<void> } | { skip: string };

async function memoryServer(): Promise<Target> {
  // A variable specifier: the package is optional and not a dependency (its postinstall downloads mongod).
  const name = 'mongodb-memory-server';
  const mod = (await import(/* @vite-ignore */ name).catch(() => null)) as {
    MongoMemoryReplSet: { create(o: unknown): Promise<{ getUri(): string; stop(): Promise<unknown> }> };
  } | null;
  if (!mod) {
    return {
      skip: 'MONGODB_URI is not set and mongodb-memory-server is not installed (its mongod binary download is blocked on this machine, and no MongoDB server package exists for it)',
    };
  }
  try {
    const rs = await mod.MongoMemoryReplSet.create({ replSet: { count: 1, storageEngine: 'wiredTiger' } });
    return { uri: rs.getUri(), source: 'mongodb-memory-server', stop: async () => void (await rs.stop()) };
  } catch (err) {
    return {
      skip: `MONGODB_URI is not set and mongodb-memory-server could not start a mongod: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

const target: Target = process.env.MONGODB_URI ? { uri: process.env.MONGODB_URI, source: 'MONGODB_URI' } : await memoryServer();

if ('skip' in target) {
  console.warn(
    [
      '',
      '==================================================================================',
      ' MongoDB file record contract run SKIPPED (sync-server/test/files/records-mongo.test.ts)',
      ` Why: ${target.skip}.`,
      ' To run it: start a replica set (docs/mongodb.md) and set',
      '   MONGODB_URI=mongodb://127.0.0.1:27017/?replicaSet=rs0',
      ' What still ran without a server: the same contract on SQLite (records-sqlite.test.ts).',
      ' MongoFileRecords (src/store/mongo/file-records.ts) is NOT exercised by anything else.',
      '==================================================================================',
      '',
    ].join('\n'),
  );
  describe('file record contract: MongoDB', () => {
    it.skip(`SKIPPED, no MongoDB to run against: ${target.skip}. Set MONGODB_URI to a replica set to run the file record contract`, () => {});
  });
} else {
  const { uri, source } = target;
  afterAll(async () => {
    await target.stop?.();
  });

  registerFileRecordContractTests(`MongoDB (${source})`, async () => {
    const store = await createMongoStore({ uri, dbName: `fw_test_${randomBytes(6).toString('hex')}` });
    return {
      records: store.fileRecords(),
      async destroy() {
        await store.connection.db?.dropDatabase();
        await store.close();
      },
    };
  });
}
