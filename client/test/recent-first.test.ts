import { type ConversationDoc, LIMITS, type MessageDoc } from '@fetchwork/shared-schema';
import { getAssumedMasterState } from 'rxdb';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { AuthUser } from '../../sync-server/src/auth/tokens';
import { waitFor } from '../../sync-server/test/support/test-server';
import type { InboxHandle } from '../src/inbox/create-inbox';
import { ReplicationStoppedError } from '../src/sync/server-doc-writer';
import { closeAllDevices, makeUser, openDevice, type TestUser } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

/**
 * Recent-first sync of a new device against the real server: a bootstrap of the newest
 * conversations and messages, then the history walk below it, newest first, while live
 * replication runs from the bootstrap's checkpoint. Small pages so that the walk takes many
 * steps and a concurrent writer lands between them.
 */

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

const SMALL_PAGES = {
  bootstrapConversations: 3,
  bootstrapMessagesPerConversation: 4,
  historyBatchSize: 40,
};

const asAuth = (u: TestUser): AuthUser => ({ id: u.id, name: u.name, email: null, expiresAt: null, sessionId: null });

interface History {
  owner: TestUser;
  partners: TestUser[];
  conversations: string[];
}

/** `perConversation` messages in each of `n` conversations of a new user, alternating senders, through the real service. */
async function seedHistory(n: number, perConversation: number): Promise<History> {
  const owner = makeUser('Owner');
  const partners = Array.from({ length: n }, (_, i) => makeUser(`Partner ${i}`));
  const messaging = server.current.messaging;
  const conversations: string[] = [];
  for (const p of partners) {
    const { conversation } = await messaging.createConversation(asAuth(owner), p.id, null);
    conversations.push(conversation.id);
  }
  for (let i = 0; i < perConversation; i++) {
    await Promise.all(
      partners.map((p, k) => {
        const from = i % 2 === 0 ? owner : p;
        return messaging.sendMessage(asAuth(from), conversations[k]!, { content: `history ${k}/${i}` });
      }),
    );
  }
  return { owner, partners, conversations };
}

/** Counts what a device sends: rows pushed, and every request by event name. */
function watchOutgoing(inbox: InboxHandle) {
  const seen = { pushedRows: 0, events: [] as { event: string; payload: any }[] };
  inbox.socket.onAnyOutgoing((event: string, payload: any) => {
    seen.events.push({ event, payload });
    if (event === 'sync:push') seen.pushedRows += Array.isArray(payload?.rows) ? payload.rows.length : 0;
  });
  return seen;
}

type Version = { seq: number; isRead?: boolean; isDeleted?: boolean; content?: string };

function versions(docs: readonly (MessageDoc | ConversationDoc)[]): Map<string, Version> {
  return new Map(
    docs.map((d) => [d.id, 'content' in d ? { seq: d.seq, isRead: d.isRead, isDeleted: d.isDeleted, content: d.content } : { seq: d.seq }]),
  );
}

async function serverState(userId: string) {
  const store = server.current.store;
  return {
    messages: versions(await store.pullFeed(userId, 'messages', 0, 100_000)),
    conversations: versions(await store.pullFeed(userId, 'conversations', 0, 100_000)),
  };
}

async function replicaState(inbox: InboxHandle) {
  const [messages, conversations] = await Promise.all([inbox.database.messages.find().exec(), inbox.database.conversations.find().exec()]);
  return {
    messages: versions(messages.map((m) => m.toJSON() as MessageDoc)),
    conversations: versions(conversations.map((c) => c.toJSON() as ConversationDoc)),
  };
}

/** Every document of the user's feed on the device, at the server's version; the first difference otherwise. */
async function differenceFromServer(inbox: InboxHandle, userId: string): Promise<string | null> {
  const [want, have] = await Promise.all([serverState(userId), replicaState(inbox)]);
  for (const name of ['messages', 'conversations'] as const) {
    if (want[name].size !== have[name].size) return `${name}: server ${want[name].size}, device ${have[name].size}`;
    for (const [id, w] of want[name]) {
      const h = have[name].get(id);
      if (JSON.stringify(h) !== JSON.stringify(w)) return `${name}/${id}: server ${JSON.stringify(w)}, device ${JSON.stringify(h)}`;
    }
  }
  return null;
}

async function converges(inbox: InboxHandle, userId: string, timeoutMs = 30_000): Promise<void> {
  let last: string | null = 'not compared yet';
  try {
    await waitFor(
      async () => {
        last = await differenceFromServer(inbox, userId);
        return last === null;
      },
      'the device to hold the server state',
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${last}`);
  }
}

const historyDone = (inbox: InboxHandle) =>
  waitFor(async () => (await firstValueFrom(inbox.history$())) === null, 'the history walk to end', 30_000);

describe('recent-first sync of a new device', () => {
  test('bootstrap + history walk under a concurrent writer: every document at its newest state, none pushed back', async () => {
    const { owner, partners, conversations } = await seedHistory(8, 60);
    const messaging = server.current.messaging;
    const device = await openDevice(server.url, owner, { tuning: SMALL_PAGES });
    const outgoing = watchOutgoing(device);

    // The writer edits, deletes, reads and inserts, old and new messages alike, until the walk ends.
    let writing = true;
    let ops = 0;
    const writer = (async () => {
      let i = 0;
      while (writing) {
        i += 1;
        const k = i % partners.length;
        const partner = partners[k]!;
        const page = await messaging.listMessages(asAuth(owner), conversations[k]!, { limit: 60 });
        const target = page[(i * 7) % page.length]!;
        const mine = target.sender === owner.id;
        switch (i % 4) {
          case 0:
            await messaging.sendMessage(asAuth(partner), conversations[k]!, { content: `live ${i}` });
            break;
          case 1:
            if (mine && !target.isDeleted) await messaging.editMessage(asAuth(owner), target.id, `edited ${i}`);
            break;
          case 2:
            if (mine && !target.isDeleted) await messaging.deleteMessage(asAuth(owner), target.id);
            break;
          default:
            if (!mine && !target.isRead) await messaging.markRead(asAuth(owner), target.id);
            else if (mine && !target.isRead) await messaging.markRead(asAuth(partner), target.id);
        }
        ops += 1;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    await historyDone(device);
    writing = false;
    await writer;
    expect(ops).toBeGreaterThan(0);
    await converges(device, owner.id);

    const events = outgoing.events.map((e) => e.event);
    expect(events.filter((e) => e === 'sync:bootstrap')).toHaveLength(2);
    expect(events.filter((e) => e === 'sync:history').length).toBeGreaterThan(3);
    expect(outgoing.pushedRows).toBe(0);
  });

  test('messages the bootstrap and the walk store undelivered are reported delivered', async () => {
    // Sent while the owner had no device: none is delivered yet.
    const { owner } = await seedHistory(4, 30);
    const toOwner = async () =>
      (await server.current.store.pullFeed(owner.id, 'messages', 0, 100_000)).filter((m) => m.recipient === owner.id);
    expect((await toOwner()).filter((m) => m.deliveredAt !== null)).toHaveLength(0);
    const device = await openDevice(server.url, owner, { tuning: SMALL_PAGES });
    await historyDone(device);
    await waitFor(async () => (await toOwner()).every((m) => m.deliveredAt !== null), 'every message to the owner stamped delivered');
    expect(await toOwner()).toHaveLength(60);
  });

  test('a reload in the middle of the walk resumes from its saved cursor, without a second bootstrap', async () => {
    const { owner } = await seedHistory(6, 60);
    const name = `resume-${owner.id}`;
    const first = await openDevice(server.url, owner, { databaseName: name, tuning: { ...SMALL_PAGES, historyBatchSize: 20 } });
    const saved = await waitFor(async () => {
      const s = await firstValueFrom(first.history$());
      return s && s.remaining < s.total - 40 ? s : null;
    }, 'a few pages of history');
    expect(saved.remaining).toBeGreaterThan(0);
    await first.close();

    const second = await openDevice(server.url, owner, { databaseName: name, tuning: { ...SMALL_PAGES, historyBatchSize: 20 } });
    const outgoing = watchOutgoing(second);
    await historyDone(second);
    await converges(second, owner.id);
    const history = outgoing.events.filter((e) => e.event === 'sync:history' && e.payload.collection === 'messages');
    expect(outgoing.events.some((e) => e.event === 'sync:bootstrap')).toBe(false);
    expect(history.length).toBeGreaterThan(0);
    // It went on from where the first run stopped, not from the top of the feed again.
    const top = (await server.current.store.pullFeed(owner.id, 'messages', 0, 100_000)).reduce((max, m) => Math.max(max, m.seq), 0);
    expect(history[0]!.payload.before).toBeLessThan(top);
    expect(outgoing.pushedRows).toBe(0);
  });

  test('an old page of one conversation loads on demand while the walk is elsewhere', async () => {
    const { owner, conversations } = await seedHistory(3, 80);
    // Pages of one document: the walk will still be far from the bottom when the page is asked for.
    const device = await openDevice(server.url, owner, { tuning: { ...SMALL_PAGES, historyBatchSize: 1 } });
    await waitFor(async () => (await device.database.messages.count().exec()) > 0, 'the bootstrap');
    const target = conversations[0]!;
    const before = await device.database.messages.count({ selector: { conversation: target } }).exec();

    const more = await device.loadOlderMessages(target, 30);
    expect(more).toBe(true);
    const after = await device.database.messages.count({ selector: { conversation: target } }).exec();
    expect(after).toBeGreaterThanOrEqual(before + 20);
    expect(await firstValueFrom(device.history$())).not.toBeNull();
  });

  test('a late copy never replaces a newer one, and a local change not yet pushed is left alone', async () => {
    const { owner, conversations } = await seedHistory(2, 6);
    const messaging = server.current.messaging;
    const device = await openDevice(server.url, owner, { tuning: SMALL_PAGES });
    await historyDone(device);
    await converges(device, owner.id);
    const writer = (await device.whenLeader()).messages.writer;
    const mine = (await messaging.listMessages(asAuth(owner), conversations[0]!, { limit: 10 })).filter((m) => m.sender === owner.id);
    const [edited, changedHere] = [mine[0]!, mine[1]!];

    // The walk read a message, then it was edited and the edit came live: the walk's copy is late.
    const late = { ...edited, _deleted: false };
    await messaging.editMessage(asAuth(owner), edited.id, 'edited after the walk read it');
    await converges(device, owner.id);
    expect(await writer.write([late])).toBe(0);
    const kept = await device.database.messages.findOne(edited.id).exec();
    expect(kept?.content).toBe('edited after the walk read it');
    expect(kept!.seq).toBeGreaterThan(late.seq);

    // An edit on this device that the server has not seen yet: a newer server copy waits for its push.
    await server.stop();
    await device.editMessage(changedHere.id, 'edited here, offline');
    const newer = { ...changedHere, seq: changedHere.seq + 1_000_000, _deleted: false };
    expect(await writer.write([newer])).toBe(0);
    expect((await device.database.messages.findOne(changedHere.id).exec())?.content).toBe('edited here, offline');
    await server.start();
    await waitFor(
      async () => (await server.current.store.getDocs('messages', [changedHere.id]))[0]?.content === 'edited here, offline',
      'the edit to reach the server',
    );
    await converges(device, owner.id);
  });

  test('what the walk stored is never pushed back (reconnect, restart), and local changes to it reach the server', async () => {
    const { owner, conversations } = await seedHistory(2, 30);
    const name = `lean-${owner.id}`;
    const first = await openDevice(server.url, owner, { databaseName: name, tuning: SMALL_PAGES });
    const outgoing = watchOutgoing(first);
    await historyDone(first);
    await converges(first, owner.id);
    // A reconnect makes RxDB's upstream read the replica again from its checkpoint.
    first.socket.disconnect();
    first.reconnect();
    await waitFor(async () => (await firstValueFrom(first.connection$)).status === 'online', 'online again');
    await converges(first, owner.id);
    expect(outgoing.pushedRows).toBe(0);
    await first.close();

    const second = await openDevice(server.url, owner, { databaseName: name, tuning: SMALL_PAGES });
    const afterRestart = watchOutgoing(second);
    await converges(second, owner.id);
    await waitFor(async () => (await firstValueFrom(second.connection$)).status === 'online', 'online after the restart');
    expect(afterRestart.pushedRows).toBe(0);
    // The oldest messages came with the walk: one of mine to edit, one received to read.
    const oldest = (await server.current.store.pullFeed(owner.id, 'messages', 0, 100_000)).filter(
      (m) => m.conversation === conversations[0],
    );
    const mine = oldest.find((m) => m.sender === owner.id)!;
    const theirs = oldest.find((m) => m.sender !== owner.id && !m.isRead)!;
    await second.editMessage(mine.id, 'an old message, edited');
    await second.markConversationRead(conversations[0]!);
    await waitFor(async () => {
      const [edited, read] = await server.current.store.getDocs('messages', [mine.id, theirs.id]);
      return edited?.content === 'an old message, edited' && read?.isRead === true;
    }, 'the changes to reach the server');
    await converges(second, owner.id);
    // Only what changed went up: the edit and the read marks, never the walk's own copies.
    const unread = oldest.filter((m) => m.sender !== owner.id && !m.isRead).length;
    expect(afterRestart.pushedRows).toBeGreaterThan(0);
    expect(afterRestart.pushedRows).toBeLessThanOrEqual(2 * (1 + unread));
  });

  test('a catch-up after a disconnect is stored page by page, with master states: every document at its newest state, none pushed back, a read mark pushed once', async () => {
    const { owner, partners, conversations } = await seedHistory(2, 3);
    const device = await openDevice(server.url, owner, { tuning: { ...SMALL_PAGES, pullBatchSize: 10 } });
    await historyDone(device);
    await converges(device, owner.id);
    await device.markConversationRead(conversations[0]!);
    await converges(device, owner.id);
    const engine = await device.whenLeader();
    device.socket.disconnect();
    // Missed while offline: 35 messages the owner wrote on another device (over 4 pages of 10),
    // one from a partner, and an edit of an older one.
    const messaging = server.current.messaging;
    const missed: string[] = [];
    for (let i = 0; i < 35; i++) {
      const message = await messaging.sendMessage(asAuth(owner), conversations[i % 2]!, { content: `missed ${i}` });
      missed.push(message.id);
    }
    const unread = await messaging.sendMessage(asAuth(partners[0]!), conversations[0]!, { content: 'from a partner, while away' });
    const older = (await messaging.listMessages(asAuth(owner), conversations[0]!, { limit: 50 })).find((m) => m.sender === owner.id)!;
    await messaging.editMessage(asAuth(owner), older.id, 'edited while the device was away');
    const outgoing = watchOutgoing(device);
    device.reconnect();
    await converges(device, owner.id);
    expect(outgoing.events.filter((e) => e.event === 'sync:pull').length).toBeGreaterThanOrEqual(4);
    expect(outgoing.pushedRows).toBe(0);
    // Stored with RxDB's master state, so that a change made here is pushed with its assumed state.
    const state = engine.messages.state.internalReplicationState!;
    expect(Object.keys(await getAssumedMasterState(state, [...missed, unread.id])).sort()).toEqual([...missed, unread.id].sort());
    // Reading the partner's message pushes its row once: no conflict round trip.
    await device.markConversationRead(conversations[0]!);
    await waitFor(async () => (await server.current.store.getDocs('messages', [unread.id]))[0]?.isRead === true, 'the read mark');
    await converges(device, owner.id);
    expect(outgoing.pushedRows).toBe(1);
  });

  test('batch sizes tuned past what the server accepts are held to its limits: the walk and the pulls still finish', async () => {
    const { owner } = await seedHistory(2, 30);
    // Each knob past its request's bound (LIMITS): before, every walk page was refused and asked for again.
    const device = await openDevice(server.url, owner, {
      tuning: {
        bootstrapConversations: 5_000,
        bootstrapMessagesPerConversation: 5_000,
        bootstrapPagedConversations: 5_000,
        historyBatchSize: 5_000,
        pullBatchSize: 5_000,
        pushBatchSize: 5_000,
      },
    });
    const outgoing = watchOutgoing(device);
    await historyDone(device);
    await converges(device, owner.id);
    const sized = outgoing.events.filter((e) => e.event === 'sync:history' || e.event === 'sync:pull' || e.event === 'sync:bootstrap');
    expect(sized.filter((e) => e.event === 'sync:bootstrap')).toHaveLength(2);
    expect(sized.some((e) => e.event === 'sync:history')).toBe(true);
    for (const { event, payload } of sized) {
      if (event === 'sync:history') expect(payload.limit).toBe(LIMITS.historyMaxBatch);
      if (event === 'sync:pull') expect(payload.batchSize).toBe(LIMITS.pullMaxBatch);
      if (event === 'sync:bootstrap' && payload.collection === 'conversations') expect(payload.pageSize).toBe(LIMITS.bootstrapPageMax);
      if (event === 'sync:bootstrap' && payload.collection === 'messages') {
        expect(payload.pageSize).toBe(LIMITS.bootstrapMessagesPerConversationMax);
        expect(payload.conversations).toBe(LIMITS.bootstrapConversationsMax);
      }
    }
  });

  test('a page that arrives after the replication stopped is refused, so the walk never records it as stored', async () => {
    const { owner, conversations } = await seedHistory(1, 4);
    const device = await openDevice(server.url, owner, { tuning: SMALL_PAGES });
    const engine = await device.whenLeader();
    await historyDone(device);
    const [doc] = await server.current.messaging.listMessages(asAuth(owner), conversations[0]!, { limit: 1 });
    await engine.stop();
    await expect(engine.messages.writer.write([{ ...doc!, seq: doc!.seq + 1, _deleted: false }])).rejects.toThrow(ReplicationStoppedError);
  });
});
