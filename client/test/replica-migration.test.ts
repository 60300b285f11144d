import type { MigrationStrategies, RxJsonSchema } from 'rxdb';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { collectionCreators } from '../src/db/collections';
import type { InboxHandle } from '../src/inbox/create-inbox';
import { closeAllDevices, makeUser, openDevice, type TestUser, until } from './support/devices';
import { RELEASED_SCHEMAS } from './support/released-schemas';
import { countBy, replicaMessages, serverMessages } from './support/replica';
import { type RestartableServer, startRestartableServer } from './support/server';

/**
 * A schema change of the local replica migrates in place (review checklist, section 8): an
 * installed app's replica, made with the released schemas and holding unsent messages, is opened
 * by the next version, which migrates it and then sends what was unsent. Nothing is lost or sent
 * twice.
 */

type Collections = typeof collectionCreators;
type Name = keyof Collections;
const NAMES = Object.keys(collectionCreators) as Name[];

/** Only the strategies up to `version` (RxDB wants exactly one per version above 0). */
function strategiesUpTo(strategies: MigrationStrategies, version: number): MigrationStrategies {
  return Object.fromEntries(Object.entries(strategies).filter(([v]) => Number(v) <= version));
}

/** The collections as the released app defines them: the frozen schemas, today's conflict handlers. */
function releasedCollections(): Collections {
  const entries = NAMES.map((name) => {
    const schema = RELEASED_SCHEMAS[name];
    const current = collectionCreators[name];
    return [name, { ...current, schema, migrationStrategies: strategiesUpTo(current.migrationStrategies, schema.version) }];
  });
  return Object.fromEntries(entries) as unknown as Collections;
}

/**
 * A next release that changes every schema: one version up, messages gain an optional local
 * field, and each collection gets the strategy the checklist asks for (keeps every document,
 * the unsent ones with `seq` 0 included).
 */
function nextCollections(): Collections {
  const entries = NAMES.map((name) => {
    const current = collectionCreators[name];
    const version = current.schema.version + 1;
    const schema: RxJsonSchema<any> = {
      ...current.schema,
      version,
      properties:
        name === 'messages' ? { ...current.schema.properties, localNote: { type: 'string', maxLength: 100 } } : current.schema.properties,
    };
    const migrationStrategies: MigrationStrategies = { ...current.migrationStrategies, [version]: (doc: unknown) => doc };
    return [name, { ...current, schema, migrationStrategies }];
  });
  return Object.fromEntries(entries) as unknown as Collections;
}

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

test('the released schemas are the current ones, or each later version has a migration strategy', () => {
  for (const name of NAMES) {
    const current = collectionCreators[name];
    const released = RELEASED_SCHEMAS[name];
    if (current.schema.version === released.version) {
      // A changed schema under the same version cannot be opened over an installed replica (RxDB
      // refuses a different schema hash): bump the version and add a strategy.
      expect(JSON.parse(JSON.stringify(current.schema)), `${name}: changed without a version bump`).toEqual(released);
    } else {
      expect(current.schema.version).toBeGreaterThan(released.version);
      for (let v = released.version + 1; v <= current.schema.version; v++) {
        expect(typeof (current.migrationStrategies as MigrationStrategies)[v], `${name}: migration to version ${v}`).toBe('function');
      }
    }
  }
});

/**
 * The released app writes while the server cannot be reached: a delivered message edited, two
 * new ones. Returns what the upgrade must keep.
 */
async function releasedReplicaWithUnsentWrites(alice: TestUser, bob: TestUser, dbName: string) {
  const a = await openDevice(server.url, alice, { databaseName: dbName, collections: releasedCollections() });
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id);
  const first = await a.sendMessage(conv, 'first');
  await until(a.messages$(conv, 10), (ms) => ms[0]?.status === 'delivered', 'first delivered');
  a.socket.disconnect();
  const p1 = await a.sendMessage(conv, 'unsent one');
  const p2 = await a.sendMessage(conv, 'unsent two');
  await a.editMessage(first.id, 'first, edited while offline');
  await until(a.connection$, (s) => s.pendingWrites === 3, 'three unsent writes');
  await a.close();
  return { b, conv, ids: [first.id, p1.id, p2.id] };
}

describe('upgrading a replica made with the released schemas, with unsent messages in it', () => {
  test.each([
    ['the current app', () => collectionCreators],
    ['a next app that changes every schema', nextCollections],
  ])('opened by %s: migrated in place, then everything unsent is sent once', async (_name, collections) => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const dbName = `migrate-${alice.id}`;
    const { b, conv, ids } = await releasedReplicaWithUnsentWrites(alice, bob, dbName);
    expect(await serverMessages(server, alice.id)).toHaveLength(1);

    // The new version starts without the server: the migrated replica alone still holds the writes.
    await server.stop();
    let a: InboxHandle;
    try {
      a = await openDevice(server.url, alice, { databaseName: dbName, collections: collections() });
      for (const name of NAMES) expect(a.database.collections[name].schema.version).toBe(collections()[name].schema.version);
      const local = await replicaMessages(a);
      expect(local.map((m) => m.content).sort()).toEqual(['first, edited while offline', 'unsent one', 'unsent two']);
      expect(
        local
          .filter((m) => m.seq === 0)
          .map((m) => m.id)
          .sort(),
      ).toEqual(ids.slice(1).sort());
      await until(a.connection$, (s) => s.pendingWrites === 3, 'the three writes still unsent after the migration');
    } finally {
      await server.start();
    }

    const onB = await until(
      b.messages$(conv, 10),
      (ms) => ms.length === 3 && ms[0]!.content === 'first, edited while offline',
      'B gets the unsent writes',
    );
    expect(onB.map((m) => m.id)).toEqual(ids);
    await until(a.connection$, (s) => s.status === 'online' && s.pendingWrites === 0, 'nothing left unsent');
    expect(await serverMessages(server, alice.id)).toHaveLength(3);
    expect([...countBy(await replicaMessages(a), (m) => m.id).values()].every((n) => n === 1)).toBe(true);
  });
});
