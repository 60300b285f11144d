import 'fake-indexeddb/auto';
import { type MessageDoc, newConversationDoc, newMessageDoc, newMessageId } from '@fetchwork/shared-schema';
import { BehaviorSubject, Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { MIRROR_AFTER_MS, OutboxMirrorKeeper } from '../src/notifications/mirror-keeper';
import { type OutboxMirror, openOutboxMirror } from '../src/sw/outbox-mirror';

/**
 * The background-send mirror as the tabs keep it (notifications/mirror-keeper.ts), on
 * fake-indexeddb with the real mirror database and real BroadcastChannels between two keepers
 * (two tabs). The tab's connection, unsent set, leadership and page lifecycle are subjects the
 * test moves; the delayed write runs on a clock the test advances.
 */

const me = 'user-me';
const other = 'user-other';
const conversation = newConversationDoc({ participants: [me, other], job: null, at: '2026-12-06T00:00:00.000Z' });

const message = (content: string): MessageDoc =>
  newMessageDoc({ id: newMessageId(), conversation: conversation.id, sender: me, recipient: other, content, at: new Date().toISOString() });

/** The real mirror, counting what the keeper asks of it. */
function counted(mirror: OutboxMirror) {
  const calls = { put: 0, all: 0, remove: 0 };
  const wrapped: OutboxMirror = {
    ...mirror,
    put: (m) => {
      calls.put += 1;
      return mirror.put(m);
    },
    all: () => {
      calls.all += 1;
      return mirror.all();
    },
    remove: (ids) => {
      calls.remove += 1;
      return mirror.remove(ids);
    },
  };
  return { mirror: wrapped, calls };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function tab(name: string, o: { connected?: boolean; leader?: boolean } = {}) {
  const real = await openOutboxMirror(name);
  const { mirror, calls } = counted(real);
  const connected$ = new BehaviorSubject(o.connected ?? true);
  const unsentIds$ = new BehaviorSubject<string[]>([]);
  const isLeader$ = new BehaviorSubject(o.leader ?? true);
  const leaving$ = new Subject<void>();
  const timers: (() => void)[] = [];
  let syncs = 0;
  const keeper = new OutboxMirrorKeeper({
    mirror: Promise.resolve(mirror),
    userId: me,
    connected$,
    unsentIds$,
    isLeader$,
    leaving$,
    channel: new BroadcastChannel(name),
    registerSync: async () => {
      syncs += 1;
    },
    setTimer: (fn, ms) => {
      expect(ms).toBe(MIRROR_AFTER_MS);
      timers.push(fn);
      return timers.length;
    },
    clearTimer: (handle) => {
      timers[(handle as number) - 1] = () => undefined;
    },
  });
  cleanups.push(() => {
    keeper.close();
    real.close();
  });
  return {
    keeper,
    real,
    calls,
    connected$,
    unsentIds$,
    isLeader$,
    leaving$,
    syncs: () => syncs,
    /** The delay passes. */
    elapse: () => {
      for (const fn of timers.splice(0)) fn();
    },
    held: async () => (await real.all()).map((e) => e.content),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 30));
const mirrorName = () => `test-mirror-${Math.random().toString(36).slice(2)}-outbox`;

describe('the background-send mirror', () => {
  it('a message the server accepts within the delay is never written to the mirror', async () => {
    const t = await tab(mirrorName());
    await settle();
    const before = { ...t.calls };
    const m = message('quick');
    t.keeper.inserted(m, conversation);
    t.unsentIds$.next([m.id]);
    t.unsentIds$.next([]);
    t.elapse();
    await settle();
    expect(await t.held()).toEqual([]);
    expect(t.calls.put).toBe(0);
    // The leader found the mirror empty at start: it did not read it again for this message.
    expect(t.calls).toEqual(before);
  });

  it('one still unsent after the delay is mirrored; once accepted, the leader removes it', async () => {
    const t = await tab(mirrorName());
    const m = message('slow');
    t.keeper.inserted(m, conversation);
    t.unsentIds$.next([m.id]);
    t.elapse();
    await expect.poll(() => t.held()).toEqual(['slow']);
    expect(t.syncs()).toBe(0);
    t.unsentIds$.next([]);
    await expect.poll(() => t.held()).toEqual([]);
  });

  it('leaving the page mirrors what waits at once; offline, a message is mirrored at once with a Background Sync', async () => {
    const t = await tab(mirrorName());
    const waiting = message('page hidden');
    t.keeper.inserted(waiting, conversation);
    t.unsentIds$.next([waiting.id]);
    t.leaving$.next();
    await expect.poll(() => t.held()).toEqual(['page hidden']);

    t.connected$.next(false);
    const offline = message('offline');
    t.keeper.inserted(offline, conversation);
    await expect.poll(async () => (await t.held()).sort()).toEqual(['offline', 'page hidden']);
    expect(t.syncs()).toBeGreaterThanOrEqual(1);
  });

  it('losing the connection mirrors what waits and asks for a Background Sync', async () => {
    const t = await tab(mirrorName());
    const m = message('then the network went');
    t.keeper.inserted(m, conversation);
    t.unsentIds$.next([m.id]);
    t.connected$.next(false);
    await expect.poll(() => t.held()).toEqual(['then the network went']);
    await expect.poll(() => t.syncs()).toBeGreaterThanOrEqual(1);
  });

  it('an edit or a deletion of a waiting message changes what is mirrored, without a write of its own', async () => {
    const t = await tab(mirrorName());
    const edited = message('draft');
    const deleted = message('oops');
    t.keeper.inserted(edited, conversation);
    t.keeper.inserted(deleted, conversation);
    t.unsentIds$.next([edited.id, deleted.id]);
    t.keeper.changed({ ...edited, content: 'final', isEdited: true });
    t.keeper.changed({ ...deleted, isDeleted: true });
    t.elapse();
    await expect.poll(() => t.held()).toEqual(['final']);
    expect(t.calls.put).toBe(1);
  });

  it('files are never mirrored, and nothing is written after close (sign-out deletes the database)', async () => {
    const t = await tab(mirrorName());
    t.keeper.inserted({ ...message('with a file'), messageType: 'file' } as MessageDoc, conversation);
    const m = message('closed before the delay');
    t.keeper.inserted(m, conversation);
    t.unsentIds$.next([m.id]);
    t.keeper.close();
    t.elapse();
    t.leaving$.next();
    await settle();
    expect(await t.held()).toEqual([]);
  });

  it('another tab’s entry: the leader reads the mirror again once told, and removes it when its message is accepted', async () => {
    const name = mirrorName();
    const leader = await tab(name, { leader: true });
    const follower = await tab(name, { leader: false });
    await settle();
    const readsAtRest = leader.calls.all;
    // Both tabs see the same unsent set (one replica); the leader reads nothing while the mirror is empty.
    const m = message('from the other tab');
    follower.keeper.inserted(m, conversation);
    for (const t of [leader, follower]) t.unsentIds$.next([m.id]);
    await settle();
    expect(leader.calls.all).toBe(readsAtRest);
    follower.elapse();
    await expect.poll(() => leader.held()).toEqual(['from the other tab']);
    await settle();
    for (const t of [leader, follower]) t.unsentIds$.next([]);
    await expect.poll(() => leader.held()).toEqual([]);
    expect(leader.calls.remove).toBeGreaterThanOrEqual(1);
    expect(follower.calls.remove).toBe(0);
  });
});
