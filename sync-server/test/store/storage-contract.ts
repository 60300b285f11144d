import type { ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StaleWriteError, type SyncStore, type WriteOp } from '../../src/store/port';
import { draftConversation, draftMessage } from '../support/docs';

export interface StoreHarness {
  store: SyncStore;
  /** Closes and opens the store again on the same data (durability). */
  reopen(): Promise<SyncStore>;
  /** Removes the data. */
  destroy(): Promise<void>;
}

const A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccccccccccc';

function conversation(a = A, b = B, job: string | null = null): ConversationDoc {
  const { _deleted, ...doc } = draftConversation(a, b, job);
  return doc;
}
function message(conv: ConversationDoc, content: string, from = conv.participants[0]!, to = conv.participants[1]!): MessageDoc {
  const { _deleted, ...doc } = draftMessage(conv.id, from, to, content);
  return doc;
}
const createOp = <T extends MessageDoc | ConversationDoc>(collection: 'messages' | 'conversations', doc: T, audience: string[]): WriteOp =>
  ({ collection, doc, expectedSeq: null, audience }) as WriteOp;

/**
 * One suite for every adapter of the storage port (like tldraw's storage contract suite): the
 * SQLite adapter runs it always, the MongoDB adapter when a server is reachable.
 */
export function registerStorageContractTests(name: string, factory: () => Promise<StoreHarness>): void {
  describe(`storage contract: ${name}`, () => {
    let h: StoreHarness;
    let store: SyncStore;
    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(async () => {
      await h.destroy();
    });

    it('S1 commit assigns strictly increasing sequences in op order and returns the stored states', async () => {
      const conv = conversation();
      const m1 = message(conv, 'one');
      const m2 = message(conv, 'two');
      const r1 = await store.commit([createOp('conversations', conv, conv.participants), createOp('messages', m1, conv.participants)]);
      const r2 = await store.commit([createOp('messages', m2, conv.participants)]);
      const seqs = [...r1.docs, ...r2.docs].map((d) => d.doc.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(3);
      expect(await store.headSeq()).toBe(seqs[2]);
      const [stored] = await store.getDocs('messages', [m1.id]);
      expect(stored).toEqual({ ...m1, seq: r1.docs[1]!.doc.seq });
    });

    it('S2 a stale expectedSeq refuses the whole commit and writes nothing', async () => {
      const conv = conversation();
      const m = message(conv, 'x');
      await store.commit([createOp('conversations', conv, conv.participants)]);
      const head = await store.headSeq();
      const fresh = message(conv, 'would be written');
      await expect(
        store.commit([
          createOp('messages', fresh, conv.participants),
          { collection: 'conversations', doc: conv, expectedSeq: 999, audience: conv.participants },
        ]),
      ).rejects.toBeInstanceOf(StaleWriteError);
      await expect(store.commit([createOp('conversations', conv, conv.participants)])).rejects.toBeInstanceOf(StaleWriteError);
      expect(await store.getDocs('messages', [fresh.id, m.id])).toEqual([]);
      expect(await store.headSeq()).toBe(head);
    });

    it('S3 pullFeed is per user, ascending, bounded by the limit, and a rewritten document appears once at its new position', async () => {
      const ab = conversation(A, B);
      const bc = conversation(B, C);
      await store.commit([createOp('conversations', ab, ab.participants), createOp('conversations', bc, bc.participants)]);
      const msgs = [message(ab, '1'), message(ab, '2'), message(bc, '3')];
      for (const m of msgs) await store.commit([createOp('messages', m, [m.sender, m.recipient])]);
      const [first] = await store.getDocs('messages', [msgs[0]!.id]);
      await store.commit([{ collection: 'messages', doc: { ...first!, content: '1 edited' }, expectedSeq: first!.seq, audience: [A, B] }]);

      const forA = await store.pullFeed(A, 'messages', 0, 100);
      expect(forA.map((m) => m.content)).toEqual(['2', '1 edited']);
      const forC = await store.pullFeed(C, 'messages', 0, 100);
      expect(forC.map((m) => m.content)).toEqual(['3']);
      const forB = await store.pullFeed(B, 'messages', 0, 2);
      expect(forB).toHaveLength(2);
      const restB = await store.pullFeed(B, 'messages', forB[1]!.seq, 100);
      expect([...forB, ...restB].map((m) => m.content)).toEqual(['2', '3', '1 edited']);
      expect((await store.pullFeed(A, 'conversations', 0, 10)).map((c) => c.id)).toEqual([ab.id]);
    });

    it('S4 commit reports each audience member’s previous feed position', async () => {
      const ab = conversation(A, B);
      const r0 = await store.commit([createOp('conversations', ab, ab.participants)]);
      const m1 = message(ab, 'a');
      const r1 = await store.commit([createOp('messages', m1, [A, B])]);
      expect(r1.feeds.map((f) => [f.userId, f.collection, f.prevSeq]).sort()).toEqual([
        [A, 'messages', 0],
        [B, 'messages', 0],
      ]);
      const m2 = message(ab, 'b');
      const m3 = message(ab, 'c');
      const r2 = await store.commit([createOp('messages', m2, [A, B]), createOp('messages', m3, [A, B])]);
      const feedA = r2.feeds.find((f) => f.userId === A)!;
      expect(feedA.prevSeq).toBe(r1.docs[0]!.doc.seq);
      expect(feedA.docs.map((d) => d.id)).toEqual([m2.id, m3.id]);
      expect(r0.feeds.find((f) => f.userId === A)?.prevSeq).toBe(0);
    });

    it('S5 lists, counts and searches what REST needs', async () => {
      const ab = conversation(A, B);
      const ac = conversation(A, C, 'job42');
      await store.commit([createOp('conversations', ab, ab.participants)]);
      await store.commit([createOp('conversations', { ...ac, lastActivity: '2100-01-01T00:00:00.000Z' }, ac.participants)]);
      expect((await store.listConversations(A)).map((c) => c.id)).toEqual([ac.id, ab.id]);
      expect((await store.listConversations(C)).map((c) => c.id)).toEqual([ac.id]);
      const texts = ['first 100% sure', 'second under_score', 'third plain'];
      for (const t of texts) await store.commit([createOp('messages', message(ab, t, A, B), [A, B])]);
      // The conversation's count as SyncService keeps it with every message (an adapter may count either).
      const [stored] = await store.getDocs('conversations', [ab.id]);
      await store.commit([
        { collection: 'conversations', doc: { ...stored!, unreadCount: { [B]: 3 } }, expectedSeq: stored!.seq, audience: ab.participants },
      ]);
      const page = await store.listMessages(ab.id, { limit: 2 });
      expect(page.map((m) => m.content)).toEqual(['second under_score', 'third plain']);
      const older = await store.listMessages(ab.id, { limit: 10, beforeSeq: page[0]!.seq });
      expect(older.map((m) => m.content)).toEqual(['first 100% sure']);
      expect(await store.countUnread(B)).toBe(3);
      expect(await store.countUnread(A)).toBe(0);
      expect((await store.searchMessages(B, '100%', 10)).map((m) => m.content)).toEqual(['first 100% sure']);
      expect((await store.searchMessages(B, '_', 10)).map((m) => m.content)).toEqual(['second under_score']);
      expect(await store.searchMessages(C, 'plain', 10)).toEqual([]);
    });

    it('S6 users: upsert keeps fields not given; email lookup is case-insensitive', async () => {
      await store.upsertUser({ id: A, name: 'Alice', email: 'Alice@Example.com', passwordHash: 'h1' });
      await store.upsertUser({ id: A, name: 'Alice B.' });
      expect(await store.getUser(A)).toEqual({ id: A, name: 'Alice B.', email: 'alice@example.com', passwordHash: 'h1' });
      expect((await store.getUserByEmail('ALICE@example.com'))?.id).toBe(A);
      expect(await store.getUsers([A, B])).toHaveLength(1);
      expect(await store.getUser(B)).toBeNull();
    });

    it('S8 feed heads, the feed below a position newest first, and its count; a rewritten document counts at its new position only', async () => {
      const UNBOUNDED = Number.MAX_SAFE_INTEGER;
      expect(await store.feedHead(A, 'messages')).toBe(0);
      expect(await store.feedBefore(A, 'messages', UNBOUNDED, 10)).toEqual([]);
      expect(await store.countFeedBefore(A, 'messages', UNBOUNDED)).toBe(0);
      const ab = conversation(A, B);
      const bc = conversation(B, C);
      await store.commit([createOp('conversations', ab, ab.participants), createOp('conversations', bc, bc.participants)]);
      const msgs = [message(ab, '1'), message(ab, '2'), message(bc, '3'), message(ab, '4')];
      const seqOf = new Map<string, number>();
      for (const m of msgs) seqOf.set(m.content, (await store.commit([createOp('messages', m, [m.sender, m.recipient])])).docs[0]!.doc.seq);
      const [first] = await store.getDocs('messages', [msgs[0]!.id]);
      const edited = await store.commit([
        { collection: 'messages', doc: { ...first!, content: '1 edited' }, expectedSeq: first!.seq, audience: [A, B] },
      ]);
      const editedSeq = edited.docs[0]!.doc.seq;

      expect(await store.feedHead(A, 'messages')).toBe(editedSeq);
      expect(await store.feedHead(C, 'messages')).toBe(seqOf.get('3'));
      expect(await store.feedHead(A, 'conversations')).toBe((await store.getDocs('conversations', [ab.id]))[0]!.seq);
      expect(await store.feedHead(C, 'conversations')).toBe((await store.getDocs('conversations', [bc.id]))[0]!.seq);

      const newestFirst = await store.feedBefore(A, 'messages', UNBOUNDED, 10);
      expect(newestFirst.map((m) => [m.content, m.seq])).toEqual([
        ['1 edited', editedSeq],
        ['4', seqOf.get('4')],
        ['2', seqOf.get('2')],
      ]);
      expect((await store.feedBefore(A, 'messages', seqOf.get('4')!, 10)).map((m) => m.content)).toEqual(['2']);
      expect((await store.feedBefore(B, 'messages', editedSeq, 2)).map((m) => m.content)).toEqual(['4', '3']);
      expect((await store.feedBefore(B, 'messages', seqOf.get('2')!, 10)).map((m) => m.content)).toEqual([]);
      expect((await store.feedBefore(C, 'messages', UNBOUNDED, 10)).map((m) => m.content)).toEqual(['3']);
      expect((await store.feedBefore(A, 'conversations', UNBOUNDED, 10)).map((c) => c.id)).toEqual([ab.id]);

      expect(await store.countFeedBefore(A, 'messages', editedSeq + 1)).toBe(3);
      expect(await store.countFeedBefore(A, 'messages', editedSeq)).toBe(2);
      expect(await store.countFeedBefore(B, 'messages', seqOf.get('4')!)).toBe(2);
      expect(await store.countFeedBefore(A, 'messages', seqOf.get('2')!)).toBe(0);
      expect(await store.countFeedBefore(C, 'messages', UNBOUNDED)).toBe(1);
      expect(await store.countFeedBefore(C, 'conversations', UNBOUNDED)).toBe(1);
    });

    it('S9 newestMessages: each conversation’s newest messages below a position, newest first, never another conversation’s', async () => {
      const ab = conversation(A, B);
      const ac = conversation(A, C);
      const bc = conversation(B, C);
      await store.commit([ab, ac, bc].map((c) => createOp('conversations', c, c.participants)));
      const seqOf = new Map<string, number>();
      const send = async (conv: ConversationDoc, content: string) => {
        const m = message(conv, content);
        seqOf.set(content, (await store.commit([createOp('messages', m, [m.sender, m.recipient])])).docs[0]!.doc.seq);
      };
      for (let i = 1; i <= 5; i++) {
        await send(ab, `ab${i}`);
        if (i <= 2) await send(ac, `ac${i}`);
        await send(bc, `bc${i}`);
      }
      const byConversation = (docs: MessageDoc[]) => {
        const out: Record<string, string[]> = {};
        for (const m of docs) out[m.conversation] = [...(out[m.conversation] ?? []), m.content];
        return out;
      };
      const UNBOUNDED = Number.MAX_SAFE_INTEGER;
      expect(byConversation(await store.newestMessages([ab.id, ac.id], 3, UNBOUNDED))).toEqual({
        [ab.id]: ['ab5', 'ab4', 'ab3'],
        [ac.id]: ['ac2', 'ac1'],
      });
      expect(byConversation(await store.newestMessages([ab.id, ac.id, ab.id], 2, seqOf.get('ab4')!))).toEqual({
        [ab.id]: ['ab3', 'ab2'],
        [ac.id]: ['ac2', 'ac1'],
      });
      expect(byConversation(await store.newestMessages([ac.id], 10, seqOf.get('ac2')!))).toEqual({ [ac.id]: ['ac1'] });
      expect(await store.newestMessages([ac.id], 10, seqOf.get('ac1')!)).toEqual([]);
      expect(await store.newestMessages([conversation(A, 'dddddddddddddddddddddddd').id], 10, UNBOUNDED)).toEqual([]);
      expect(await store.newestMessages([], 10, UNBOUNDED)).toEqual([]);
      const [stored] = await store.newestMessages([bc.id], 1, UNBOUNDED);
      expect(stored).toEqual((await store.getDocs('messages', [stored!.id]))[0]);
      expect(stored!.content).toBe('bc5');
    });

    it('S10 conversationWriters: who has written in each conversation, from creations and not from edits', async () => {
      const ab = conversation(A, B);
      const ac = conversation(A, C, 'job10');
      const bc = conversation(B, C);
      for (const c of [ab, ac, bc]) await store.commit([createOp('conversations', c, c.participants)]);
      const first = message(ab, 'from A', A, B);
      await store.commit([createOp('messages', first, [A, B])]);
      await store.commit([createOp('messages', message(ab, 'again from A', A, B), [A, B])]);
      await store.commit([createOp('messages', message(ac, 'from C', C, A), [A, C])]);
      const [stored] = await store.getDocs('messages', [first.id]);
      await store.commit([{ collection: 'messages', doc: { ...stored!, content: 'edited' }, expectedSeq: stored!.seq, audience: [A, B] }]);
      const writers = await store.conversationWriters([ab, ac, bc]);
      expect(writers.get(ab.id)).toEqual([A]);
      expect(writers.get(ac.id)).toEqual([C]);
      expect(writers.has(bc.id)).toBe(false);
    });

    it('S7 everything committed survives closing and reopening the store', async () => {
      const ab = conversation();
      const m = message(ab, 'durable');
      await store.commit([createOp('conversations', ab, ab.participants), createOp('messages', m, [A, B])]);
      const head = await store.headSeq();
      store = await h.reopen();
      expect((await store.getDocs('messages', [m.id]))[0]?.content).toBe('durable');
      expect(await store.headSeq()).toBe(head);
      const next = await store.commit([createOp('messages', message(ab, 'after'), [A, B])]);
      expect(next.docs[0]!.doc.seq).toBeGreaterThan(head);
    });
  });
}
