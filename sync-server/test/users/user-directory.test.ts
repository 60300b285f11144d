import type { ConversationDoc } from '@fetchwork/shared-schema';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthUser } from '../../src/auth/tokens';
import { createLogger } from '../../src/logger';
import type { WriteOp } from '../../src/store/port';
import { SqliteStore } from '../../src/store/sqlite-store';
import { LocalChangeBus } from '../../src/sync/change-bus';
import { newConversation } from '../../src/sync/conversation-rules';
import { SyncService } from '../../src/sync/sync-service';
import { fallbackName } from '../../src/users/fallback-name';
import { type ConversationRewriter, RENAME_CHUNK } from '../../src/users/name-propagation';
import type { UserProfileStore } from '../../src/users/profile-store';
import { UserDirectory } from '../../src/users/user-directory';
import { newUserId } from '../support/test-server';

const log = createLogger('silent');
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** A store whose commits are recorded: how many conversations each one wrote. */
class RecordingStore extends SqliteStore {
  readonly conversationWrites: number[] = [];
  override async commit(ops: readonly WriteOp[]) {
    this.conversationWrites.push(ops.filter((o) => o.collection === 'conversations').length);
    return super.commit(ops);
  }
}

function world() {
  const store = new RecordingStore({ path: ':memory:' });
  stores.push(store);
  const sync = new SyncService(store, new LocalChangeBus(), log);
  const calls = { get: 0, saveName: 0, markApplied: 0 };
  const real = store.userProfiles();
  const profiles: UserProfileStore = {
    get: (ids) => {
      calls.get += 1;
      return real.get(ids);
    },
    saveName: (id, name, version) => {
      calls.saveName += 1;
      return real.saveName(id, name, version);
    },
    markApplied: (id, name) => {
      calls.markApplied += 1;
      return real.markApplied(id, name);
    },
  };
  const directory = (conversations: ConversationRewriter = sync) => new UserDirectory({ profiles, feed: store, conversations, log });
  return { store, sync, calls, directory };
}

const token = (id: string, name: string, expiresAt = Date.now() + 3_600_000): AuthUser => ({
  id,
  name,
  email: null,
  expiresAt,
  sessionId: null,
});

async function conversationsOf(store: SqliteStore, userId: string, n: number): Promise<ConversationDoc[]> {
  const docs = Array.from({ length: n }, () => newConversation([userId, newUserId()], null, new Date().toISOString(), {}));
  await store.commit(docs.map((doc) => ({ collection: 'conversations', doc, expectedSeq: null, audience: doc.participants })));
  return store.pullFeed(userId, 'conversations', 0, n + 1);
}

describe('UserDirectory', () => {
  it('a name seen again costs no read and no write; only a change is stored', async () => {
    const { calls, directory } = world();
    const users = directory();
    const bob = newUserId();
    const expiresAt = Date.now() + 3_600_000;
    for (let i = 0; i < 20; i++) await users.note(token(bob, 'Bob', expiresAt + i * 1000));
    expect(calls).toEqual({ get: 1, saveName: 1, markApplied: 1 });
    await users.note(token(bob, 'Robert', expiresAt + 60_000));
    expect(calls.saveName).toBe(2);
    // An older token than the one that set the name: ignored without touching the store.
    await users.note(token(bob, 'Bob', expiresAt));
    expect(calls).toEqual({ get: 2, saveName: 2, markApplied: 2 });
    expect(await users.namesFor([bob])).toEqual({ [bob]: 'Robert' });
  });

  it('a user without a known name gets the fallback, never an email or "Unknown user"', async () => {
    const { directory } = world();
    const id = newUserId();
    expect(await directory().namesFor([id])).toEqual({ [id]: fallbackName(id) });
  });

  it('a rename walks thousands of conversations in bounded steps, each its own commit', async () => {
    const { store, directory } = world();
    const bob = newUserId();
    const before = await conversationsOf(store, bob, 2 * RENAME_CHUNK + 50);
    store.conversationWrites.length = 0;
    await directory().note(token(bob, 'Bob'));
    const after = await store.pullFeed(bob, 'conversations', 0, 1000);
    expect(after).toHaveLength(before.length);
    expect(after.every((c) => c.participantNames[bob] === 'Bob')).toBe(true);
    // Every other field is as it was; the other participant keeps their name.
    const byId = new Map(before.map((c) => [c.id, c]));
    for (const c of after) {
      const old = byId.get(c.id)!;
      expect({ ...c, participantNames: old.participantNames, seq: old.seq, updatedAt: old.updatedAt }).toEqual(old);
      expect(c.seq).toBeGreaterThan(old.seq);
    }
    expect(store.conversationWrites.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...store.conversationWrites)).toBeLessThanOrEqual(RENAME_CHUNK);
  });

  it('a walk cut short (a crash) is finished by the next note, even in a new process', async () => {
    const { store, sync, calls, directory } = world();
    const bob = newUserId();
    await conversationsOf(store, bob, RENAME_CHUNK + 20);
    let steps = 0;
    const crashing: ConversationRewriter = {
      rewriteConversations: async (ids, change) => {
        steps += 1;
        if (steps > 1) throw new Error('process died');
        return sync.rewriteConversations(ids, change);
      },
    };
    await directory(crashing).note(token(bob, 'Bob'));
    expect(calls.markApplied).toBe(0);
    const half = await store.pullFeed(bob, 'conversations', 0, 1000);
    expect(half.filter((c) => c.participantNames[bob] === 'Bob')).toHaveLength(RENAME_CHUNK);

    await directory().note(token(bob, 'Bob'));
    expect((await store.pullFeed(bob, 'conversations', 0, 1000)).every((c) => c.participantNames[bob] === 'Bob')).toBe(true);
    expect(calls.markApplied).toBe(1);
  });
});
