import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite-store';
import { draftConversation, draftMessage } from '../support/docs';

/**
 * The store's long reads (a search, a history page and the count below it, conversations' newest
 * pages) on their own thread
 * (sqlite-read-thread.ts), against the same file read on the event loop. The storage contract
 * (storage-contract.ts) runs every read of a file store through the thread too.
 */

const a = 'a'.repeat(24);
const b = 'b'.repeat(24);
const c = 'c'.repeat(24);
let dir: string;
let path: string;

/** Turns of the event loop while `fn` runs: none when `fn` holds it from start to end. */
async function turnsDuring(fn: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let running = true;
  const spin = () => {
    if (!running) return;
    turns += 1;
    setImmediate(spin);
  };
  setImmediate(spin);
  await fn();
  running = false;
  return turns;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fw-read-thread-'));
  path = join(dir, 's.sqlite');
  const store = new SqliteStore({ path, readThread: false });
  const { _deleted, ...ab } = draftConversation(a, b);
  const { _deleted: _d, ...bc } = draftConversation(b, c);
  await store.commit([
    { collection: 'conversations', doc: ab, expectedSeq: null, audience: [a, b] },
    { collection: 'conversations', doc: bc, expectedSeq: null, audience: [b, c] },
  ]);
  // 30,000 messages between a and b (a search that finds nothing reads them all), a few between b and c.
  for (let i = 0; i < 30; i++) {
    await store.commit(
      Array.from({ length: 1000 }, (_, j) => {
        const { _deleted: _m, ...m } = draftMessage(ab.id, a, b, `logo draft ${i * 1000 + j} for the 50% discount_case`);
        return { collection: 'messages' as const, doc: m, expectedSeq: null, audience: [a, b] };
      }),
    );
  }
  for (let i = 0; i < 5; i++) {
    const { _deleted: _m, ...m } = draftMessage(bc.id, b, c, `brief ${i} with the logo`);
    await store.commit([{ collection: 'messages', doc: m, expectedSeq: null, audience: [b, c] }]);
  }
  await store.close();
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the store’s read thread', () => {
  it('answers searches, history pages and counts as the event loop does, per user, including a commit made just before', async () => {
    const threaded = new SqliteStore({ path });
    const here = new SqliteStore({ path, readThread: false });
    try {
      const { _deleted, ...fresh } = draftMessage(draftConversation(b, c).id, c, b, 'the final logo, just now');
      await threaded.commit([{ collection: 'messages', doc: fresh, expectedSeq: null, audience: [b, c] }]);
      for (const [user, query] of [
        [c, 'logo'],
        [b, 'logo'],
        [a, '50% discount_'],
        [c, 'discount'],
      ] as const) {
        expect(await threaded.searchMessages(user, query, 20)).toEqual(await here.searchMessages(user, query, 20));
      }
      expect((await threaded.searchMessages(c, 'logo', 20)).map((m) => m.content)).toEqual([
        'the final logo, just now',
        'brief 4 with the logo',
        'brief 3 with the logo',
        'brief 2 with the logo',
        'brief 1 with the logo',
        'brief 0 with the logo',
      ]);
      expect(await threaded.searchMessages(c, 'discount', 20)).toEqual([]);
      const head = (await threaded.headSeq()) + 1;
      expect(await threaded.feedBefore(a, 'messages', head, 1000)).toEqual(await here.feedBefore(a, 'messages', head, 1000));
      expect(await threaded.feedBefore(b, 'conversations', head, 10)).toEqual(await here.feedBefore(b, 'conversations', head, 10));
      expect(await threaded.countFeedBefore(a, 'messages', head - 5000)).toBe(await here.countFeedBefore(a, 'messages', head - 5000));
      expect(await threaded.countFeedBefore(c, 'messages', head + 1)).toBe(6);
      // Each conversation's newest page (a bootstrap's, in one read): the runs in the order asked.
      const conversations = [draftConversation(b, c).id, draftConversation(a, b).id, draftConversation(b, c).id];
      const pages = await threaded.newestMessages(conversations, 3, head);
      expect(pages).toEqual(await here.newestMessages(conversations, 3, head));
      // The same reads as stored text (what answers send as they are): the same rows, each with its seq.
      const asDocs = (rows: { seq: number; json: string }[]) =>
        rows.map((r) => {
          const doc = JSON.parse(r.json);
          expect(doc.seq).toBe(r.seq);
          return doc;
        });
      expect(asDocs(await threaded.texts.newestMessages(conversations, 3, head))).toEqual(pages);
      expect(asDocs(await threaded.texts.feedBefore(a, 'messages', head, 1000))).toEqual(await here.feedBefore(a, 'messages', head, 1000));
      expect(asDocs(await threaded.texts.pullFeed(b, 'conversations', 0, 10))).toEqual(await here.pullFeed(b, 'conversations', 0, 10));
      expect(asDocs(await threaded.texts.pullFeed(a, 'messages', 100, 500))).toEqual(await here.pullFeed(a, 'messages', 100, 500));
      expect(pages.map((m) => m.content)).toEqual([
        'the final logo, just now',
        'brief 4 with the logo',
        'brief 3 with the logo',
        'logo draft 29999 for the 50% discount_case',
        'logo draft 29998 for the 50% discount_case',
        'logo draft 29997 for the 50% discount_case',
      ]);
    } finally {
      await Promise.all([threaded.close(), here.close()]);
    }
  });

  it('leaves the event loop free while a search reads a whole feed (on the event loop it is held throughout)', async () => {
    const threaded = new SqliteStore({ path });
    const here = new SqliteStore({ path, readThread: false });
    try {
      await threaded.searchMessages(a, 'warm up', 1);
      expect(await turnsDuring(() => here.searchMessages(a, 'a text nobody wrote', 50))).toBe(0);
      expect(await turnsDuring(() => threaded.searchMessages(a, 'a text nobody wrote', 50))).toBeGreaterThan(2);
    } finally {
      await Promise.all([threaded.close(), here.close()]);
    }
  });

  it('a read thread that died is replaced: the reads it had are answered on the event loop, the next ones on a new thread', async () => {
    const store = new SqliteStore({ path });
    try {
      const expected = await store.searchMessages(c, 'logo', 10);
      const reads = (store as unknown as { reads: { worker: { terminate(): Promise<number> } | null } }).reads;
      const first = reads.worker;
      expect(first).not.toBeNull();
      const during = store.searchMessages(c, 'logo', 10);
      await first?.terminate();
      expect(await during).toEqual(expected);
      expect(await store.searchMessages(c, 'logo', 10)).toEqual(expected);
      expect(reads.worker).not.toBeNull();
      expect(reads.worker).not.toBe(first);
    } finally {
      await store.close();
    }
  });
});
