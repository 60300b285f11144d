/**
 * Scenario 3 — initial sync: a new device of a user with 10,000 (and 100,000) messages, from
 * createInbox until (a) the inbox is usable (every conversation listed, the newest one showing
 * its newest message) and (b) the full history is stored and the replication is in sync. In
 * Node (our client on fake-indexeddb) and in real Chromium (Dexie on the page's on-disk
 * IndexedDB, persistent profile). Baselines in the same process/page: a raw Dexie bulkPut of
 * the same documents, after downloading them over a plain socket.
 */
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { io } from 'socket.io-client';
import type { SyncTuning } from '../../client/src/sync/collection-sync';
import { newUserId, tokenFor } from '../lib/docs';
import { type FirstSyncExpectation, measureFirstSync } from '../lib/first-sync';
import { rawBulkPut } from '../lib/raw-dexie';
import { openOursReplica } from '../lib/replicas';
import { type Ctx, num, type ScenarioResult } from '../lib/report';
import type { Seeded } from '../lib/server-host';
import { startServerHost } from '../lib/workers';
import { type BrowserSync, runBrowser } from './initial-sync-browser';
import { syncRows } from './initial-sync-rows';

/** BENCH_SYNC_SIZES=10000,100000 overrides the sizes of the mode. */
export const sizesFor = (mode: Ctx['mode']): number[] =>
  process.env.BENCH_SYNC_SIZES
    ? process.env.BENCH_SYNC_SIZES.split(',').map(Number)
    : mode === 'smoke'
      ? [500]
      : mode === 'quick'
        ? [2000]
        : [10_000, 100_000];
/** Conversations of the seeded user: the case at 100,000 messages, else 100. */
export const conversationsFor = (n: number): number => (n >= 100_000 ? 500 : 100);

/**
 * Whether the first screen's live queries stay open for the whole sync, as in the app (default),
 * or close once the inbox is usable (BENCH_SYNC_SCREEN=off: the storage path alone).
 */
export const screenOpen = () => process.env.BENCH_SYNC_SCREEN !== 'off';

/**
 * BENCH_SYNC_TUNING='{"bootstrapMessagesPerConversation":8}': createInbox's `tuning` for our
 * replicas in both halves, to measure a tuning change against the defaults.
 */
export const syncTuning = (): Partial<SyncTuning> | undefined =>
  process.env.BENCH_SYNC_TUNING ? (JSON.parse(process.env.BENCH_SYNC_TUNING) as Partial<SyncTuning>) : undefined;

/**
 * Wall-clock cap of one initial sync. A sync still running at the cap is stopped and reported
 * as documents stored per second so far (marked "stopped at …"), so the full run stays inside
 * its time budget even where a replica manages only a few hundred documents per second.
 * BENCH_SYNC_CAP_S overrides it.
 */
export function syncCapMs(mode: Ctx['mode'], n: number): number {
  if (process.env.BENCH_SYNC_CAP_S) return Number(process.env.BENCH_SYNC_CAP_S) * 1000;
  return mode === 'full' && n >= 100_000 ? 60_000 : 300_000;
}

/** Downloads a user's whole message feed over a plain socket (no storage): the network/server floor. */
export async function rawDownload(url: string, userId: string, batchSize = 1000): Promise<{ ms: number; docs: object[] }> {
  const t0 = performance.now();
  const socket = io(url, { auth: { token: tokenFor(userId) }, transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const docs: object[] = [];
  let checkpoint: { seq: number } | null = null;
  for (;;) {
    const res: any = await socket.timeout(60_000).emitWithAck('sync:pull', { collection: 'messages', checkpoint, batchSize });
    // 100 pulls back to back can exceed the socket's event rate (100/s): wait as a client would.
    if (res.error?.code === 'RATE_LIMITED') {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    if (res.error) throw new Error(res.error.code);
    docs.push(...res.documents);
    checkpoint = res.checkpoint;
    if (res.documents.length < batchSize) break;
  }
  socket.close();
  return { ms: performance.now() - t0, docs };
}

export interface SyncFigure {
  n: number;
  conversations: number;
  /** createInbox → usable inbox; null when not usable by the cap. */
  usableMs: number | null;
  /** Messages the newest conversation showed then (of the 30 its pane asks for). */
  paneMessages: number | null;
  /** Once usable: opening the least recently active conversation until it shows its newest message (FirstSyncResult). */
  openOldestMs: number | null;
  openOldestMessages: number | null;
  /** createInbox → a bootstrap answered (see FirstSyncResult); null when none did. */
  bootstrapMs: number | null;
  /** createInbox → full history stored and in sync (or the cap). */
  oursMs: number;
  /** Documents stored when the sync finished or was stopped at the cap. */
  oursCount: number;
  partial: boolean;
  rawMs: number;
  rawCount: number;
  /** The same bulkPut into RxDB's table layout (diagnostic, Chromium). */
  rawRxMs?: number;
  rawRxCount?: number;
  downloadMs?: number;
  leaderMs?: number;
}

export const docsPerSec = (count: number, ms: number) => (count / ms) * 1000;
/** "12.3 s (813 docs/s)", or for a sync stopped at the cap "stopped at 75 s: 41,000 of 100,000 (547 docs/s)". */
export function syncCell(n: number, ms: number, count = n, partial = false): string {
  if (partial || count < n)
    return `stopped at ${num(ms / 1000, 0)} s: ${num(count)} of ${num(n)} stored (${num(docsPerSec(count, ms))} docs/s)`;
  return `${num(ms / 1000, 2)} s (${num(docsPerSec(n, ms))} docs/s)`;
}

/** Runs `fn` until it resolves or `capMs` passes; true when it finished. */
export function withinCap(p: Promise<unknown>, capMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), capMs)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** "usable after 1,234 ms with 20 messages in the pane (a bootstrap answered at 900 ms)", for progress lines. */
export function firstSyncLine(
  f: Pick<SyncFigure, 'usableMs' | 'paneMessages' | 'bootstrapMs' | 'openOldestMs' | 'openOldestMessages'>,
): string {
  const usable =
    f.usableMs === null ? 'not usable by the cap' : `usable after ${num(f.usableMs)} ms with ${f.paneMessages} messages in the pane`;
  const bootstrap = f.bootstrapMs === null ? ' (no bootstrap answered)' : ` (a bootstrap answered at ${num(f.bootstrapMs)} ms)`;
  const open =
    f.openOldestMs === null ? '' : `; the least recent conversation opened in ${num(f.openOldestMs)} ms (${f.openOldestMessages} messages)`;
  return `${usable}${bootstrap}${open}`;
}

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const sizes = sizesFor(ctx.mode);
  const host = await startServerHost('initial-sync-server');
  const node: SyncFigure[] = [];
  let browser: BrowserSync[] = [];
  const notes: string[] = [];
  let url = '';
  const users: Record<number, { userId: string; expected: FirstSyncExpectation }> = {};
  try {
    ({ url } = await host.call<{ url: string }>('start', { kind: 'ours' }));
    for (const n of sizes) {
      const userId = newUserId('h');
      const conversations = conversationsFor(n);
      const seeded = await host.call<Seeded>('seed', { userId, n, conversations });
      if (!seeded.newest) throw new Error(`seeding ${n} messages stored none`);
      users[n] = { userId, expected: { messages: n, conversations, newest: seeded.newest, oldest: seeded.oldest ?? undefined } };
      ctx.log(`  seeded ${num(n)} messages in ${conversations} conversations (${num(seeded.ms)} ms)`);
    }
    for (const n of sizes) {
      const { userId, expected } = users[n]!;
      const s = performance.now();
      const inbox = await openOursReplica(url, userId, 'History', syncTuning());
      const r = await measureFirstSync(inbox, s, expected, { capMs: syncCapMs(ctx.mode, n), screen: screenOpen() });
      await inbox.close();
      const dl = await rawDownload(url, userId);
      const raw = await rawBulkPut(dl.docs, {
        name: `raw-${userId}`,
        indexedDB: indexedDB as unknown as IDBFactory,
        IDBKeyRange: IDBKeyRange as any,
      });
      const f: SyncFigure = {
        n,
        conversations: expected.conversations,
        usableMs: r.usableMs,
        paneMessages: r.paneMessages,
        openOldestMs: r.openOldestMs,
        openOldestMessages: r.openOldestMessages,
        bootstrapMs: r.bootstrapMs,
        oursMs: r.ms,
        oursCount: r.count,
        partial: r.partial,
        rawMs: raw.ms,
        rawCount: raw.count,
        downloadMs: dl.ms,
        leaderMs: r.leaderMs,
      };
      node.push(f);
      ctx.log(
        `  Node ${num(n)}: ours ${firstSyncLine(f)}, full history ${syncCell(n, r.ms, r.count, r.partial)}; raw bulkPut ${syncCell(n, raw.ms)}; raw download ${num(dl.ms)} ms`,
      );
    }
    if (process.env.BENCH_NO_BROWSER) {
      notes.push('Chromium part skipped (BENCH_NO_BROWSER set).');
    } else {
      try {
        browser = await runBrowser(
          ctx,
          url,
          ctx.mode === 'full',
          sizes.map((n) => ({ n, userId: users[n]!.userId, token: tokenFor(users[n]!.userId, 'History'), expected: users[n]!.expected })),
        );
      } catch (err) {
        notes.push(`Chromium part failed: ${(err as Error).message.split('\n')[0]}`);
        ctx.log(`  Chromium part failed: ${(err as Error).stack}`);
      }
    }
  } finally {
    await host.stop();
  }
  notes.push(
    `Usable inbox: from createInbox until the conversation list holds all the user's conversations and the newest conversation's messages$(id, 30) holds its newest message (ids from the seed). Full history: until every message and conversation of the user is stored, no history walk is open (history$() is null) and the replication is in sync; docs/s counts messages. The list and the pane stay subscribed ${screenOpen() ? 'for the whole sync, as in the app' : 'only until the inbox is usable (BENCH_SYNC_SCREEN=off)'}.`,
  );
  if (syncTuning()) notes.push(`Our replicas ran with tuning ${process.env.BENCH_SYNC_TUNING} (BENCH_SYNC_TUNING), not the defaults.`);
  return {
    scenario: 'initial-sync',
    rows: syncRows(ctx, browser, node),
    details: { node, browser, screen: screenOpen(), tuning: syncTuning() ?? null },
    notes,
    durationMs: performance.now() - t0,
  };
}
