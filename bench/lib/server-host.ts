/**
 * Child process that hosts one server under test at a time, so its event loop, heap and RSS
 * are its own: our sync server (SQLite in a temp dir), a raw Socket.io relay (the floor), or
 * RxDB's stock replication-websocket server (the peer). Started by `startServerHost()`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { LIMITS, type MessageDoc, messageConflictHandler, messageRxSchema } from '@fetchwork/shared-schema';
import Database from 'better-sqlite3';
import { createRxDatabase, type RxDatabase } from 'rxdb';
import { startWebsocketServer } from 'rxdb/plugins/replication-websocket';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import { Server } from 'socket.io';
import { Encoder, PacketType } from 'socket.io-parser';
import { serveRpc } from '../../chaos/lib/ipc';
import type { RunningServer, startSyncServer as StartSyncServer } from '../../sync-server/src/server';
import type { SyncStore } from '../../sync-server/src/store/port';
import type { SqliteStore as SqliteStoreClass } from '../../sync-server/src/store/sqlite-store';
import type { HistoryService as HistoryServiceClass } from '../../sync-server/src/sync/history-service';
import { BENCH_SECRET, type ConversationEnd, draftConversation, draftMessage, historyFor, newUserId } from './docs';
import { median } from './stats';

/**
 * BENCH_SERVER_SRC=<dir>: host that copy of sync-server/src instead (to measure a proposed
 * server patch; the copy must live inside the repo so packages resolve).
 */
const serverSrc = process.env.BENCH_SERVER_SRC
  ? resolve(process.env.BENCH_SERVER_SRC)
  : fileURLToPath(new URL('../../sync-server/src', import.meta.url));
const { startSyncServer } = (await import(pathToFileURL(join(serverSrc, 'server.ts')).href)) as { startSyncServer: typeof StartSyncServer };
const { SqliteStore } = (await import(pathToFileURL(join(serverSrc, 'store', 'sqlite-store.ts')).href)) as {
  SqliteStore: typeof SqliteStoreClass;
};
const { HistoryService } = (await import(pathToFileURL(join(serverSrc, 'sync', 'history-service.ts')).href)) as {
  HistoryService: typeof HistoryServiceClass;
};
const { createLogger } = (await import(pathToFileURL(join(serverSrc, 'logger.ts')).href)) as { createLogger: (level: string) => any };
/** The hosted server's Socket.io encoder (its own parser where it has one), to count an answer's encoding with its read. */
const AnswerEncoder: new () => { encode(packet: object): unknown[] } = await import(
  pathToFileURL(join(serverSrc, 'realtime', 'stored-json-parser.ts')).href
)
  .then((m: { storedJsonParser: { Encoder: new () => { encode(packet: object): unknown[] } } }) => m.storedJsonParser.Encoder)
  .catch(() => Encoder);
const { createFileMailer } = (await import(pathToFileURL(join(serverSrc, 'mail', 'index.ts')).href)) as {
  createFileMailer: (directory: string) => any;
};

type Kind = 'ours' | 'raw' | 'peer';

let dir: string | null = null;
let ours: RunningServer | null = null;
let raw: { http: HttpServer; io: Server } | null = null;
let peer: { db: RxDatabase; close(): Promise<void> } | null = null;

async function start(args: { kind: Kind }): Promise<{ url: string; mailDir?: string }> {
  await stop();
  if (args.kind === 'ours') {
    dir = mkdtempSync(join(tmpdir(), 'fw-bench-'));
    const path = join(dir, 'store.sqlite');
    ours = await startSyncServer({
      store: new SqliteStore({ path }),
      log: createLogger('silent'),
      jwtSecret: BENCH_SECRET,
      corsOrigins: ['*'],
      port: 0,
      host: '127.0.0.1',
      // All REST traffic of the bench comes from one loopback address: the per-IP abuse limit
      // would cap the REST baseline at 10 requests/s. Socket limits keep their defaults.
      rateLimits: { httpRequestsPerMinute: 1_000_000_000 },
      // Registration mail as files: a scenario confirms its accounts from there (sync-server/test/support/accounts.ts).
      mail: { mailer: createFileMailer(join(dir, 'mail')) },
      registrationLimits: { perEmail: { requests: 5, windowSeconds: 3600 }, perIp: { requests: 1_000_000, windowSeconds: 3600 } },
    });
    return { url: ours.url, mailDir: join(dir, 'mail') };
  }
  if (args.kind === 'raw') {
    // The floor: the same transport and options, no auth, no validation, no storage.
    const http = createServer();
    const io = new Server(http, { maxHttpBufferSize: LIMITS.pushMaxRows * 8 * 1024, pingInterval: 10_000, pingTimeout: 5_000 });
    io.on('connection', (socket) => {
      const userId = String((socket.handshake.auth as { userId?: unknown }).userId ?? '');
      void socket.join(`user:${userId}`);
      socket.on('msg', (doc: { recipient: string }, ack?: (r: unknown) => void) => {
        io.to(`user:${doc.recipient}`).emit('msg', doc);
        ack?.({ ok: true });
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    raw = { http, io };
    return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
  }
  // RxDB's stock websocket replication server on an in-memory RxDB database: `messages` is what
  // the probe replicas replicate, `traffic` takes the background load (see scenarios/peer.ts).
  const db = await createRxDatabase({ name: `peer${Date.now()}`, storage: getRxStorageMemory(), multiInstance: false });
  await db.addCollections({
    messages: { schema: messageRxSchema, conflictHandler: messageConflictHandler },
    traffic: { schema: { ...messageRxSchema, title: 'traffic' }, conflictHandler: messageConflictHandler },
  });
  const ws = startWebsocketServer({ database: db, port: 0, host: '127.0.0.1' } as any);
  await new Promise<void>((resolve, reject) => {
    if ((ws.server as any).address()) return resolve();
    ws.server.once('listening', () => resolve());
    ws.server.once('error', reject);
  });
  peer = {
    db,
    async close() {
      await ws.close();
      await db.close();
    },
  };
  return { url: `ws://127.0.0.1:${(ws.server.address() as AddressInfo).port}` };
}

async function stop(): Promise<void> {
  if (ours) await ours.close();
  ours = null;
  if (raw) {
    raw.io.disconnectSockets(true);
    await new Promise<void>((r) => raw!.io.close(() => r()));
    raw.http.closeAllConnections();
  }
  raw = null;
  if (peer) await peer.close();
  peer = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
}

/** What `seed` stored: the newest message and its conversation (what a usable inbox shows first), and the least recently active one. */
export interface Seeded {
  ms: number;
  headSeq: number;
  newest: ConversationEnd | null;
  oldest: ConversationEnd | null;
}

/** Commits a seeded history through the storage port, in big commits. */
async function commitHistory(
  store: SyncStore,
  { conversations, messages }: Pick<ReturnType<typeof historyFor>, 'conversations' | 'messages'>,
) {
  for (let i = 0; i < messages.length; i += 2000) {
    await store.commit(
      messages
        .slice(i, i + 2000)
        .map((m) => ({ collection: 'messages' as const, doc: m, expectedSeq: null, audience: [m.sender, m.recipient] })),
    );
  }
  // After the messages and in order of activity, as the server's own writes leave them: every
  // message moves its conversation to the head of the feed, so the most recently active
  // conversation has the highest sequence.
  const byActivity = [...conversations].sort((a, b) => (a.lastActivity < b.lastActivity ? -1 : a.lastActivity > b.lastActivity ? 1 : 0));
  await store.commit(
    byActivity.map((c) => ({ collection: 'conversations' as const, doc: c, expectedSeq: null, audience: c.participants })),
  );
}

/** Stores `n` history messages for `userId` straight through the storage port, in big commits. */
async function seed(args: { userId: string; n: number; conversations: number }): Promise<Seeded> {
  const t0 = performance.now();
  const { conversations, messages, newest, oldest } = historyFor(args.userId, args.n, args.conversations);
  if (ours) {
    await commitHistory(ours.store, { conversations, messages });
    return { ms: performance.now() - t0, headSeq: await ours.store.headSeq(), newest, oldest };
  }
  if (peer) {
    const col = peer.db.collections.messages!;
    for (let i = 0; i < messages.length; i += 5000) {
      const res = await col.bulkInsert(messages.slice(i, i + 5000) as MessageDoc[]);
      if (res.error.length > 0) throw new Error(`peer seed failed: ${JSON.stringify(res.error[0]).slice(0, 300)}`);
    }
    return { ms: performance.now() - t0, headSeq: messages.length, newest, oldest };
  }
  throw new Error('no server to seed');
}

/**
 * The floor for throughput: better-sqlite3 on its own, one row per `BEGIN IMMEDIATE`
 * transaction, into a table shaped like ours (same columns and indexes, same pragmas).
 */
/**
 * The store alone, as a push uses it: `conversations` one-message commits at a time (each with
 * its conversation's rewrite and both participants' feed rows), so each round is one group
 * transaction; CPU per commit over `rounds` rounds after `warmup`. Far steadier on a shared
 * machine than the end-to-end rate, so a change to the store's cost shows here first.
 */
async function storeCommits(args: {
  conversations: number;
  rounds: number;
  warmup: number;
}): Promise<{ cpuUsPerCommit: number; commitsPerSec: number }> {
  const d = mkdtempSync(join(tmpdir(), 'fw-bench-store-'));
  const store = new SqliteStore({ path: join(d, 'store.sqlite') });
  try {
    const convs = Array.from({ length: args.conversations }, () => {
      const a = newUserId('a');
      const b = newUserId('b');
      const { _deleted, ...c } = draftConversation(a, b);
      return { a, b, c, seq: 0 };
    });
    for (const x of convs) {
      const r = await store.commit([{ collection: 'conversations', doc: x.c, expectedSeq: null, audience: [x.a, x.b] }]);
      x.seq = r.docs[0]!.doc.seq;
    }
    const round = () =>
      Promise.all(
        convs.map(async (x) => {
          const { _deleted, ...m } = draftMessage(x.c.id, x.a, x.b);
          const r = await store.commit([
            { collection: 'messages', doc: m, expectedSeq: null, audience: [x.a, x.b] },
            { collection: 'conversations', doc: { ...x.c, lastMessage: m.id }, expectedSeq: x.seq, audience: [x.a, x.b] },
          ]);
          x.seq = r.docs[1]!.doc.seq;
        }),
      );
    for (let i = 0; i < args.warmup; i++) await round();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < args.rounds; i++) await round();
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const commits = args.rounds * args.conversations;
    return { cpuUsPerCommit: (c.user + c.system) / commits, commitsPerSec: commits / seconds };
  } finally {
    await store.close();
    rmSync(d, { recursive: true, force: true });
  }
}

/** The longest gap between ticks of a 1 ms timer while `fn` runs: how long it held the event loop. */
async function longestStall(fn: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  await fn();
  clearInterval(timer);
  return Math.max(longest, performance.now() - last);
}

/**
 * What a long read does to everyone else on the instance: a user with `messages` messages
 * searches the server (a text found nowhere: the whole feed is scanned) and walks the first
 * `pages` history pages of 1,000; for each call, the longest time the event loop could not run
 * anything else (the median over the calls). The same store file with its reads on their thread
 * (`readThread`, the default) and on the event loop.
 */
async function longReadStalls(args: { messages: number; conversations: number; searches: number; pages: number }) {
  const d = mkdtempSync(join(tmpdir(), 'fw-bench-reads-'));
  const path = join(d, 'store.sqlite');
  const userId = newUserId('h');
  const turn = () => new Promise((r) => setImmediate(r));
  try {
    const seeding = new SqliteStore({ path });
    await commitHistory(seeding, historyFor(userId, args.messages, args.conversations));
    await seeding.close();
    const out: Record<string, { search: number; page: number; searchMs: number }> = {};
    for (const readThread of [true, false]) {
      const store = new SqliteStore({ path, readThread });
      const history = new HistoryService(store);
      const encoder = new AnswerEncoder();
      const user = { id: userId } as Parameters<typeof history.history>[0];
      await store.searchMessages(userId, 'warm up', 1);
      const search: number[] = [];
      const searchMs: number[] = [];
      for (let i = 0; i < args.searches; i++) {
        const t0 = performance.now();
        search.push(await longestStall(() => store.searchMessages(userId, 'a text nobody wrote', 50)));
        searchMs.push(performance.now() - t0);
        await turn();
      }
      const page: number[] = [];
      let before: number | null = (await store.headSeq()) + 1;
      for (let i = 0; i < args.pages && before !== null; i++) {
        const from: number = before;
        page.push(
          await longestStall(async () => {
            const answer = await history.history(user, 'messages', from, 1000);
            encoder.encode({ type: PacketType.ACK, nsp: '/', id: 1, data: [answer] });
            before = answer.history?.before ?? null;
          }),
        );
        await turn();
      }
      await store.close();
      out[readThread ? 'thread' : 'loop'] = { search: median(search), page: median(page), searchMs: median(searchMs) };
    }
    return out;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

async function rawSqlite(args: { rows: number }): Promise<{ rowsPerSec: number; cpuUsPerRow: number; seconds: number }> {
  const d = mkdtempSync(join(tmpdir(), 'fw-bench-raw-'));
  try {
    const db = new Database(join(d, 'raw.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE messages (
      id TEXT PRIMARY KEY, conversation TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL,
      is_read INTEGER NOT NULL, is_deleted INTEGER NOT NULL, content TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX messages_by_conversation ON messages (conversation, seq);
    CREATE INDEX messages_unread ON messages (recipient, is_read, is_deleted);`);
    const insert = db.prepare(
      `INSERT INTO messages (id, conversation, sender, recipient, is_read, is_deleted, content, seq, body)
       VALUES (@id, @conversation, @sender, @recipient, @isRead, @isDeleted, @content, @seq, @body)`,
    );
    const put = db.transaction((m: MessageDoc) =>
      insert.run({
        id: m.id,
        conversation: m.conversation,
        sender: m.sender,
        recipient: m.recipient,
        isRead: 0,
        isDeleted: 0,
        content: m.content,
        seq: m.seq,
        body: JSON.stringify(m),
      }),
    );
    const docs = Array.from({ length: args.rows }, (_, i) => {
      const { _deleted, ...m } = draftMessage(`c.s${i % 100}.r${i % 100}`, `s${i % 100}`, `r${i % 100}`);
      return { ...m, seq: i + 1, sentAt: m.createdAt };
    });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const m of docs) put.immediate(m);
    const seconds = (performance.now() - t0) / 1000;
    const c1 = process.cpuUsage(c0);
    db.close();
    return { rowsPerSec: args.rows / seconds, cpuUsPerRow: (c1.user + c1.system) / args.rows, seconds };
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

function gc() {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

/** The inspector session of `allocSampling` while it samples. */
let allocSession: Session | null = null;

// Every hosted server's event loop: stalls show here whatever their cause (a checkpoint, GC, a long task).
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
// The garbage collector's pauses in the same window, so a stall can be told apart from them.
const gcPauses = { count: 0, totalMs: 0, maxMs: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcPauses.count++;
    gcPauses.totalMs += e.duration;
    gcPauses.maxMs = Math.max(gcPauses.maxMs, e.duration);
    // NODE_PERFORMANCE_GC_MAJOR (mark-compact) = 4
    if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 4) gcPauses.major++;
  }
}).observe({ entryTypes: ['gc'] });

serveRpc(
  {
    start,
    stop,
    seed,
    rawSqlite,
    storeCommits,
    longReadStalls,
    /** Memory after a full GC (the host runs with --expose-gc). */
    mem: async () => {
      gc();
      await new Promise((r) => setTimeout(r, 50));
      gc();
      const m = process.memoryUsage();
      return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
    },
    cpu: () => process.cpuUsage(),
    /** How late the event loop ran since the last call (ms; 1 ms resolution), then starts over. */
    loopDelay: () => {
      const ms = (ns: number) => ns / 1e6;
      const out = { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max), gc: { ...gcPauses } };
      loopDelay.reset();
      Object.assign(gcPauses, { count: 0, totalMs: 0, maxMs: 0, major: 0 });
      return out;
    },
    /**
     * V8's sampling heap profiler, counting what the garbage collector freed too (so it shows
     * where garbage comes from, not only what stays): `start`, then `stop` writes a .heapprofile
     * (summarise with `npx tsx bench/lib/profile-summary.ts <file>`).
     */
    allocSampling: async (args: { action: 'start' } | { action: 'stop'; path: string }) => {
      if (args.action === 'start') {
        if (allocSession) throw new Error('allocation sampling already started');
        allocSession = new Session();
        allocSession.connect();
        await allocSession.post('HeapProfiler.enable');
        await allocSession.post('HeapProfiler.startSampling', {
          samplingInterval: 16_384,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        } as never);
        return null;
      }
      if (!allocSession) throw new Error('allocation sampling was not started');
      const { profile } = await allocSession.post('HeapProfiler.stopSampling');
      allocSession.disconnect();
      allocSession = null;
      writeFileSync(args.path, JSON.stringify(profile));
      return args.path;
    },
    /** A heap snapshot after a full GC (bench/lib/heap-per-socket.ts compares two). */
    heapSnapshot: (args: { path: string }) => {
      gc();
      return writeHeapSnapshot(args.path);
    },
    sockets: () => (ours ? ours.io.engine.clientsCount : raw ? raw.io.engine.clientsCount : peer ? -1 : 0),
    storeStats: () => (ours?.store instanceof SqliteStore ? { ...ours.store.commitStats } : null),
  },
  stop,
);
