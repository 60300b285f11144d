import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { afterAll, describe, expect, it } from 'vitest';
import { createMongoStore } from '../../src/store/mongo/connect';
import type { MongoStore } from '../../src/store/mongo/mongo-store';
import { FETCHWORK_USERS_COLLECTION, fetchWorkUserName } from '../../src/store/mongo/user-profiles';
import type { SyncStore } from '../../src/store/port';
import { SqliteStore } from '../../src/store/sqlite-store';
import { type MongoTarget, mongoTarget } from '../support/mongo-target';
import { newUserId } from '../support/test-server';

/**
 * The user directory's storage, one contract for both adapters. MongoDB runs only against a
 * server (MONGODB_URI); without one this file says so loudly and registers a skipped test.
 */

interface Subject {
  store: SyncStore;
  /** Writes a FetchWork `users` document (MongoDB only; null where the adapter has no such source). */
  fetchWorkUser: ((id: string, fields: Record<string, unknown>) => Promise<void>) | null;
  dispose(): Promise<void>;
}

function userProfileContract(name: string, open: () => Promise<Subject>) {
  describe(`user profiles: ${name}`, () => {
    it('an unknown user has no name, version 0, nothing applied', async () => {
      const s = await open();
      try {
        const id = newUserId();
        expect(await s.store.userProfiles().get([id, id])).toEqual([{ id, name: null, nameVersion: 0, appliedName: null }]);
      } finally {
        await s.dispose();
      }
    });

    it('a name is stored unless a later version is; the account name is read when the directory has none', async () => {
      const s = await open();
      try {
        const profiles = s.store.userProfiles();
        const id = newUserId();
        await s.store.upsertUser({ id, name: 'From Registration', email: `${id}@example.com` });
        expect((await profiles.get([id]))[0]).toMatchObject({ name: 'From Registration', nameVersion: 0 });
        expect(await profiles.saveName(id, 'From Token', 2000)).toBe(true);
        expect(await profiles.saveName(id, 'Older Token', 1000)).toBe(false);
        expect(await profiles.saveName(id, 'Same Time', 2000)).toBe(true);
        await profiles.markApplied(id, 'Same Time');
        expect((await profiles.get([id]))[0]).toEqual({ id, name: 'Same Time', nameVersion: 2000, appliedName: 'Same Time' });
      } finally {
        await s.dispose();
      }
    });

    it('marking a name applied before any name was saved keeps the account name', async () => {
      const s = await open();
      try {
        const profiles = s.store.userProfiles();
        const id = newUserId();
        await s.store.upsertUser({ id, name: 'Registered' });
        await profiles.markApplied(id, 'Registered');
        expect((await profiles.get([id]))[0]).toEqual({ id, name: 'Registered', nameVersion: 0, appliedName: 'Registered' });
        expect(await profiles.saveName(id, 'Later', 1)).toBe(true);
        expect((await profiles.get([id]))[0]?.name).toBe('Later');
      } finally {
        await s.dispose();
      }
    });

    it.runIf(name === 'MongoDB')(
      "FetchWork's users are read (firstName + lastName) below every other source, and never written",
      async () => {
        const s = await open();
        try {
          const id = newUserId();
          await s.fetchWorkUser?.(id, { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' });
          expect((await s.store.userProfiles().get([id]))[0]?.name).toBe('Ada Lovelace');
          await s.store.userProfiles().saveName(id, 'Ada L.', 5);
          expect((await s.store.userProfiles().get([id]))[0]?.name).toBe('Ada L.');
        } finally {
          await s.dispose();
        }
      },
    );
  });
}

userProfileContract('SQLite', async () => {
  const store = new SqliteStore({ path: ':memory:' });
  return { store, fetchWorkUser: null, dispose: () => store.close() };
});

describe("FetchWork's user fields", () => {
  it('firstName + lastName, else name; blank or missing parts are left out', () => {
    const _id = new Types.ObjectId();
    expect(fetchWorkUserName({ _id, firstName: 'Ada', lastName: 'Lovelace' })).toBe('Ada Lovelace');
    expect(fetchWorkUserName({ _id, firstName: ' Ada ', lastName: '' })).toBe('Ada');
    expect(fetchWorkUserName({ _id, name: 'Grace Hopper' })).toBe('Grace Hopper');
    expect(fetchWorkUserName({ _id, firstName: 42, name: null })).toBeNull();
  });
});

const target: MongoTarget = await mongoTarget();
if ('skip' in target) {
  console.warn(
    `\n=== MongoDB user-profile contract SKIPPED (sync-server/test/users/profile-store.test.ts): ${target.skip}. Set MONGODB_URI to a replica set to run it. ===\n`,
  );
  describe('user profiles: MongoDB', () => {
    it.skip(`SKIPPED, no MongoDB to run against: ${target.skip}`, () => {});
  });
} else {
  const { uri } = target;
  afterAll(async () => {
    await target.stop?.();
  });
  userProfileContract('MongoDB', async () => {
    const store: MongoStore = await createMongoStore({ uri, dbName: `fw_test_${randomBytes(6).toString('hex')}` });
    return {
      store,
      fetchWorkUser: async (id, fields) => {
        await store.connection.collection(FETCHWORK_USERS_COLLECTION).insertOne({ _id: new Types.ObjectId(id), ...fields });
      },
      dispose: async () => {
        await store.connection.db?.dropDatabase();
        await store.close();
      },
    };
  });
}
