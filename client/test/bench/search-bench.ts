/**
 * Offline search at scale: 50,000 messages in a replica, then the time to build the index from
 * the replica, to answer queries, and to pick up a new message. Run from the repository root:
 *
 *   npx tsx client/test/bench/search-bench.ts [messageCount] [memory|fake-indexeddb]
 *
 * The default storage is RxDB's in-memory one: fake-indexeddb walks cursors in quadratic time
 * (reading 5,000 documents through RxDB's Dexie query takes ~40 s here, 50,000 would take
 * hours), so it cannot say anything about a browser's IndexedDB. What this measures is the part
 * the data layer owns: RxDB's query and document layer, minisearch indexing, queries, updates.
 */
import { conversationIdFor, type MessageDoc, newMessageDoc, newMessageId } from '@fetchwork/shared-schema';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import { openInboxDatabase } from '../../src/db/database';
import { getInboxStorage } from '../../src/db/dexie-storage';
import { MessageSearch } from '../../src/inbox/search/message-search';

const COUNT = Number(process.argv[2] ?? 50_000);
const STORAGE = process.argv[3] ?? 'memory';
const CONVERSATIONS = 200;
const me = 'u000000000000000000000me';

// A deterministic generator, so runs compare.
let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
const syllables = ['ka', 'lo', 'mi', 'ne', 'ra', 'su', 'to', 'vi', 'be', 'do', 'fa', 'gu', 'he', 'ji', 'pe', 'qu', 'ze', 'xo'];
const vocabulary = Array.from({ length: 5000 }, () => Array.from({ length: 2 + Math.floor(rand() * 3) }, () => pick(syllables)).join(''));
const common = [
  'invoice',
  'payment',
  'deadline',
  'design',
  'logo',
  'website',
  'meeting',
  'tomorrow',
  'thanks',
  'draft',
  'review',
  'contract',
];
const sentence = () =>
  Array.from({ length: 6 + Math.floor(rand() * 20) }, () => (rand() < 0.15 ? pick(common) : pick(vocabulary))).join(' ');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function main() {
  const db = await openInboxDatabase({
    name: `bench-${Date.now()}`,
    storage: STORAGE === 'fake-indexeddb' ? getInboxStorage({ indexedDB, IDBKeyRange }) : getRxStorageMemory(),
    multiInstance: false,
  });
  const peers = Array.from({ length: CONVERSATIONS }, (_, i) => `u${String(i).padStart(23, '0')}`);
  const now = Date.now();
  await db.conversations.bulkInsert(
    peers.map((p, i) => {
      const t = new Date(now - i * 1000).toISOString();
      return {
        id: conversationIdFor([me, p], null),
        participants: [me, p].sort(),
        job: null,
        lastMessage: null,
        lastActivity: t,
        isActive: true,
        unreadCount: {},
        participantNames: { [p]: `${pick(['Ana', 'Ben', 'Chen', 'Dara', 'Eli'])} ${pick(['Smith', 'Okafor', 'Nguyen', 'Rossi'])}` },
        createdAt: t,
        updatedAt: t,
        seq: i + 1,
      };
    }),
  );

  let t0 = performance.now();
  const CHUNK = 2500;
  for (let i = 0; i < COUNT; i += CHUNK) {
    const docs: MessageDoc[] = [];
    for (let j = i; j < Math.min(COUNT, i + CHUNK); j++) {
      const peer = peers[j % CONVERSATIONS]!;
      const mine = rand() < 0.5;
      const at = new Date(now - (COUNT - j) * 60_000).toISOString();
      docs.push({
        id: newMessageId(),
        conversation: conversationIdFor([me, peer], null),
        sender: mine ? me : peer,
        recipient: mine ? peer : me,
        content: sentence(),
        messageType: 'text',
        attachments: [],
        isRead: true,
        readAt: at,
        isEdited: false,
        editedAt: null,
        isDeleted: false,
        deletedAt: null,
        deliveredAt: at,
        createdAt: at,
        updatedAt: at,
        seq: j + 1000,
        sentAt: at,
      });
    }
    await db.messages.bulkInsert(docs);
    if (process.env.BENCH_VERBOSE) process.stderr.write(`inserted ${i + docs.length} in ${Math.round(performance.now() - t0)} ms\n`);
  }
  const insertMs = performance.now() - t0;

  const heapBefore = process.memoryUsage().heapUsed;
  const search = new MessageSearch(db, me);
  t0 = performance.now();
  await search.warmUp();
  const warmUpMs = performance.now() - t0;
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;

  const queries = [
    'invoice',
    'invoice payment',
    'deadl',
    'kalomi',
    'desgin',
    'smith contract',
    'tomorrow meeting review',
    pick(vocabulary),
  ];
  const results: Record<string, { hits: number; p50: number; p95: number }> = {};
  for (const q of queries) {
    const times: number[] = [];
    let hits = 0;
    for (let r = 0; r < 30; r++) {
      const s = performance.now();
      hits = (await search.search(q, 20)).length;
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    results[q] = { hits, p50: +percentile(times, 0.5).toFixed(2), p95: +percentile(times, 0.95).toFixed(2) };
  }

  const peer = peers[0]!;
  const at = new Date().toISOString();
  t0 = performance.now();
  await db.messages.insert({
    ...newMessageDoc({
      id: newMessageId(),
      conversation: conversationIdFor([me, peer], null),
      sender: peer,
      recipient: me,
      content: 'zyxwvut unique marker',
      at,
    }),
    seq: COUNT + 5000,
    sentAt: at,
  });
  while ((await search.search('zyxwvut', 5)).length === 0) await new Promise((r) => setTimeout(r, 1));
  const incrementalMs = performance.now() - t0;

  const report = {
    messages: COUNT,
    storage: STORAGE,
    conversations: CONVERSATIONS,
    node: process.version,
    replicaInsertMs: Math.round(insertMs),
    indexWarmUpMs: Math.round(warmUpMs),
    indexHeapMb: +heapMb.toFixed(1),
    indexedDocuments: search.size,
    queryMs: results,
    newMessageSearchableMs: +incrementalMs.toFixed(1),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  search.close();
  await db.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
