import { randomBytes } from 'node:crypto';
import { afterAll, describe, it } from 'vitest';
import { createMongoStore } from '../../src/store/mongo/connect';
import { type MongoTarget, mongoTarget } from '../support/mongo-target';
import { registerPushRecordContractTests } from './records-contract';

/**
 * The push record contract against a real MongoDB, decided as the other MongoDB suites decide:
 * MONGODB_URI (a replica set, see docs/mongodb.md), else mongodb-memory-server if it can start a
 * mongod. Neither exists on the build machine, so there this file says loudly that it skipped.
 */

const target: MongoTarget = await mongoTarget();

if ('skip' in target) {
  console.warn(
    [
      '',
      '==================================================================================',
      ' MongoDB push record contract run SKIPPED (sync-server/test/notifications/records-mongo.test.ts)',
      ` Why: ${target.skip}.`,
      ' To run it: start a replica set (docs/mongodb.md) and set',
      '   MONGODB_URI=mongodb://127.0.0.1:27017/?replicaSet=rs0',
      ' What still ran without a server: the same contract on SQLite (records-sqlite.test.ts).',
      ' MongoPushRecords (src/store/mongo/push-records.ts) is NOT exercised by anything else.',
      '==================================================================================',
      '',
    ].join('\n'),
  );
  describe('push record contract: MongoDB', () => {
    it.skip(`SKIPPED, no MongoDB to run against: ${target.skip}. Set MONGODB_URI to a replica set to run the push record contract`, () => {});
  });
} else {
  const { uri, source } = target;
  afterAll(async () => {
    await target.stop?.();
  });

  registerPushRecordContractTests(`MongoDB (${source})`, async () => {
    const store = await createMongoStore({ uri, dbName: `fw_test_${randomBytes(6).toString('hex')}` });
    return {
      records: store.pushRecords(),
      async destroy() {
        await store.connection.db?.dropDatabase();
        await store.close();
      },
    };
  });
}
