import { randomBytes } from 'node:crypto';
import type { MessageDoc } from '@fetchwork/shared-schema';
import { Types } from 'mongoose';
import { afterAll, describe, expect, it } from 'vitest';
import { backfillLegacyDocuments } from '../../src/store/mongo/backfill';
import { createMongoStore, prepareDatabase } from '../../src/store/mongo/connect';
import type { MongoStore } from '../../src/store/mongo/mongo-store';
import { feedBeforeQuery, feedQuery, newestMessagesPipelines } from '../../src/store/mongo/queries';
import { draftConversation, draftMessage } from '../support/docs';
import { type MongoTarget, mongoTarget } from '../support/mongo-target';
import { registerStorageContractTests } from './storage-contract';

/**
 * The storage contract against a real MongoDB: MONGODB_URI (a replica set, see docs/mongodb.md),
 * else mongodb-memory-server if someone installed it where it can fetch a mongod. Neither exists
 * on the build machine, so there this file says loudly that it skipped, and registers a skipped
 * test that shows up in the run's summary.
 */

const target: MongoTarget = await mongoTarget();

describe('createMongoStore without a server', () => {
  it('fails within its server selection timeout instead of hanging', async () => {
    const started = Date.now();
    await expect(createMongoStore({ uri: 'mongodb://127.0.0.1:1/?directConnection=true', serverSelectionTimeoutMS: 300 })).rejects.toThrow(
      /ECONNREFUSED|Server selection timed out|connect/i,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

if ('skip' in target) {
  console.warn(
    [
      '',
      '==================================================================================',
      ' MongoDB storage contract run SKIPPED (sync-server/test/store/mongo-store.test.ts)',
      ` Why: ${target.skip}.`,
      ' To run it: start a replica set (docs/mongodb.md) and set',
      '   MONGODB_URI=mongodb://127.0.0.1:27017/?replicaSet=rs0',
      ' What still ran without a server: mongo-mapping.test.ts (pure logic, Mongoose casting)',
      ' and mongo-fake-driver.test.ts (the contract suite on an in-memory fake driver).',
      '==================================================================================',
      '',
    ].join('\n'),
  );
  describe('storage contract: MongoDB', () => {
    it.skip(`SKIPPED, no MongoDB to run against: ${target.skip}. Set MONGODB_URI to a replica set to run the storage contract`, () => {});
  });
} else {
  const { uri, source } = target;
  const databases: string[] = [];
  const freshDb = () => {
    const name = `fw_test_${randomBytes(6).toString('hex')}`;
    databases.push(name);
    return name;
  };
  const drop = async (store: MongoStore) => {
    await store.connection.db?.dropDatabase();
    await store.close();
  };
  afterAll(async () => {
    await target.stop?.();
  });

  registerStorageContractTests(`MongoDB (${source})`, async () => {
    const dbName = freshDb();
    let store = await createMongoStore({ uri, dbName });
    const harness = {
      store,
      async reopen() {
        await store.close();
        store = await createMongoStore({ uri, dbName });
        harness.store = store;
        return store;
      },
      async destroy() {
        await drop(store);
      },
    };
    return harness;
  });

  const A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
  const B = 'bbbbbbbbbbbbbbbbbbbbbbbb';
  const convDoc = () => {
    const { _deleted, ...conv } = draftConversation(A, B);
    return conv;
  };
  const message = (conversation: string, content: string): MessageDoc => {
    const { _deleted, ...m } = draftMessage(conversation, A, B, content);
    return m;
  };

  describe(`MongoDB specifics (${source})`, () => {
    it('two instances committing concurrently keep sequence order equal to commit order; a reader polling meanwhile never skips a change', async () => {
      const dbName = freshDb();
      const one = await createMongoStore({ uri, dbName });
      const two = await createMongoStore({ uri, dbName });
      try {
        const conv = convDoc();
        await one.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: conv.participants }]);
        const perWriter = 25;
        const seen = new Map<string, number>();
        let checkpoint = 0;
        let writing = true;
        const poll = async () => {
          for (const doc of await two.pullFeed(B, 'messages', checkpoint, 7)) {
            expect(doc.seq).toBeGreaterThan(checkpoint);
            seen.set(doc.id, (seen.get(doc.id) ?? 0) + 1);
            checkpoint = doc.seq;
          }
        };
        const reader = (async () => {
          while (writing) await poll();
        })();
        const writer = (store: MongoStore, tag: string) =>
          (async () => {
            for (let i = 0; i < perWriter; i++) {
              await store.commit([{ collection: 'messages', doc: message(conv.id, `${tag}${i}`), expectedSeq: null, audience: [A, B] }]);
            }
          })();
        await Promise.all([writer(one, 'one-'), writer(two, 'two-')]);
        writing = false;
        await reader;
        for (let before = -1; before !== checkpoint; ) {
          before = checkpoint;
          await poll();
        }
        expect(seen.size).toBe(2 * perWriter);
        expect([...seen.values()].every((n) => n === 1)).toBe(true);
        const all = await one.pullFeed(A, 'messages', 0, 1000);
        expect(all.map((m) => m.seq)).toEqual([...all.map((m) => m.seq)].sort((x, y) => x - y));
        expect(new Set(all.map((m) => m.seq)).size).toBe(2 * perWriter);
        expect(await one.headSeq()).toBe(1 + 2 * perWriter);
      } finally {
        await one.close();
        await drop(two);
      }
    });

    it('pull is an index range scan on (audience, seq) with no in-memory sort', async () => {
      const store = await createMongoStore({ uri, dbName: freshDb() });
      try {
        const spec = feedQuery(A, 0, 10);
        const plan = JSON.stringify(await store.models.Message.find(spec.filter).sort(spec.sort).limit(10).explain('queryPlanner'));
        expect(plan).toContain('messaging_feed');
        expect(plan).not.toContain('COLLSCAN');
        expect(plan).not.toMatch(/"stage":"SORT"/);
      } finally {
        await drop(store);
      }
    });

    it('the history walk reads (audience, seq) backwards, and newest messages scan (conversation, seq) backwards, with no in-memory sort', async () => {
      const store = await createMongoStore({ uri, dbName: freshDb() });
      try {
        const spec = feedBeforeQuery(A, 100, 10);
        const walk = JSON.stringify(await store.models.Message.find(spec.filter).sort(spec.sort).limit(10).explain('queryPlanner'));
        expect(walk).toContain('messaging_feed');
        expect(walk).not.toContain('COLLSCAN');
        expect(walk).not.toMatch(/"stage":"SORT"/);
        const [pipeline] = newestMessagesPipelines([convDoc().id, draftConversation(A, 'cccccccccccccccccccccccc').id], 20, 100);
        const newest = JSON.stringify(await store.models.Message.aggregate(pipeline!).explain('queryPlanner'));
        expect(newest).toContain('messaging_conversation_seq');
        expect(newest).not.toContain('COLLSCAN');
        expect(newest).not.toMatch(/"stage":"SORT"/);
      } finally {
        await drop(store);
      }
    });

    it('documents written by the old REST API are read as they are and become pullable after the backfill', async () => {
      const store = await createMongoStore({ uri, dbName: freshDb() });
      try {
        const db = store.connection.db!;
        const convId = new Types.ObjectId();
        const msgId = new Types.ObjectId();
        const createdAt = new Date('2024-05-01T08:00:00.000Z');
        await db.collection('conversations').insertOne({
          _id: convId,
          participants: [new Types.ObjectId(B), new Types.ObjectId(A)],
          lastMessage: msgId,
          lastActivity: createdAt,
          isActive: true,
          unreadCount: { [B]: 1 },
          createdAt,
          updatedAt: createdAt,
          __v: 0,
        });
        await db.collection('messages').insertOne({
          _id: msgId,
          conversation: convId,
          sender: new Types.ObjectId(A),
          recipient: new Types.ObjectId(B),
          content: 'from the old inbox',
          messageType: 'text',
          attachments: [],
          isRead: false,
          isEdited: false,
          isDeleted: false,
          createdAt,
          updatedAt: createdAt,
          __v: 0,
        });
        expect((await store.getDocs('messages', [msgId.toHexString()]))[0]).toMatchObject({ conversation: convId.toHexString(), seq: 0 });
        expect(await store.countUnread(B)).toBe(1);
        expect(await store.pullFeed(B, 'messages', 0, 10)).toEqual([]);
        expect(await backfillLegacyDocuments(store)).toEqual({ conversations: 1, messages: 1 });
        const [pulled] = await store.pullFeed(B, 'messages', 0, 10);
        expect(pulled).toMatchObject({ id: msgId.toHexString(), seq: 2, sentAt: createdAt.toISOString() });
        await store.commit([
          { collection: 'messages', doc: { ...pulled!, isRead: true, readAt: new Date().toISOString() }, expectedSeq: 2, audience: [A, B] },
        ]);
        const raw = await db.collection('messages').findOne({ _id: msgId });
        expect(raw).toMatchObject({ __v: 0, isRead: true, seq: 3 });
        expect(raw?.sender).toBeInstanceOf(Types.ObjectId);
        await prepareDatabase(store);
        expect(await store.headSeq()).toBe(3);
      } finally {
        await drop(store);
      }
    });
  });
}
