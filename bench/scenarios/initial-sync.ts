/**
 * Scenario 3 — initial sync: a fresh replica of a user with 10,000 (and 100,000) messages, from
 * opening it until every message is stored and replication is in sync. In Node (our client on
 * fake-indexeddb) and in real Chromium (Dexie on the page's on-disk IndexedDB, persistent
 * profile). Baseline in the same process/page: a raw Dexie bulkPut of the same documents.
 */
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { io } from 'socket.io-client';
import { newUserId, tokenFor } from '../lib/docs';
import { rawBulkPut } from '../lib/raw-dexie';
import { openOursReplica } from '../lib/replicas';
import { type Ctx, num, type Row, ratioOf, type ScenarioResult } from '../lib/report';
import { startServerHost } from '../lib/workers';
import { type BrowserSync, runBrowser } from './initial-sync-browser';

/** BENCH_SYNC_SIZES=10000,100000 overrides the sizes of the mode. */
export const sizesFor = (mode: Ctx['mode']): number[] =>
  process.env.BENCH_SYNC_SIZES
    ? process.env.BENCH_SYNC_SIZES.split(',').map(Number)
    : mode === 'smoke'
      ? [500]
      : mode === 'quick'
        ? [2000]
        : [10_000, 100_000];
export const CONVERSATIONS = 100;

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
  oursMs: number;
  /** Documents stored when the sync finished or was stopped at the cap. */
  oursCount: number;
  partial: boolean;
  rawMs: number;
  rawCount: number;
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

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const sizes = sizesFor(ctx.mode);
  const host = await startServerHost('initial-sync-server');
  const node: SyncFigure[] = [];
  let browser: BrowserSync[] = [];
  const notes: string[] = [];
  let url = '';
  const users: Record<number, string> = {};
  try {
    ({ url } = await host.call<{ url: string }>('start', { kind: 'ours' }));
    for (const n of sizes) {
      users[n] = newUserId('h');
      const seeded = await host.call<{ ms: number }>('seed', { userId: users[n], n, conversations: CONVERSATIONS });
      ctx.log(`  seeded ${num(n)} messages in ${CONVERSATIONS} conversations (${num(seeded.ms)} ms)`);
    }
    for (const n of sizes) {
      const userId = users[n]!;
      const s = performance.now();
      const inbox = await openOursReplica(url, userId, 'History');
      // Documents stored so far, read at the cap: stopping a replication lets it finish its
      // running cycle first, so a count taken after stop() would include that.
      let stored = 0;
      const counter = inbox.database.messages.insert$.subscribe(() => {
        stored += 1;
      });
      const engine = await inbox.whenLeader();
      const done = await withinCap(engine.awaitInSync(), syncCapMs(ctx.mode, n));
      const oursMs = performance.now() - s;
      const atCap = stored;
      counter.unsubscribe();
      await engine.stop();
      const count = done ? await inbox.database.messages.count().exec() : atCap;
      await inbox.close();
      const dl = await rawDownload(url, userId);
      const raw = await rawBulkPut(dl.docs, {
        name: `raw-${userId}`,
        indexedDB: indexedDB as unknown as IDBFactory,
        IDBKeyRange: IDBKeyRange as any,
      });
      const f: SyncFigure = { n, oursMs, oursCount: count, partial: !done, rawMs: raw.ms, rawCount: raw.count, downloadMs: dl.ms };
      node.push(f);
      ctx.log(
        `  Node ${num(n)}: ours ${syncCell(n, oursMs, count, !done)}; raw bulkPut ${syncCell(n, raw.ms)}; raw download ${num(dl.ms)} ms`,
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
          sizes.map((n) => ({ n, userId: users[n]!, token: tokenFor(users[n]!, 'History') })),
        );
      } catch (err) {
        notes.push(`Chromium part failed: ${(err as Error).message.split('\n')[0]}`);
        ctx.log(`  Chromium part failed: ${(err as Error).stack}`);
      }
    }
  } finally {
    await host.stop();
  }
  const rows: Row[] = [];
  for (const f of browser) {
    rows.push({
      scenario: 'initial-sync',
      figure: `Initial sync of ${num(f.n)} messages, Chromium (on-disk IndexedDB), docs/s (vs raw Dexie bulkPut, same page)`,
      ours: syncCell(f.n, f.oursMs, f.oursCount, f.partial),
      baseline: syncCell(f.n, f.rawMs),
      ratio: ratioOf(docsPerSec(f.oursCount, f.oursMs), docsPerSec(f.rawCount, f.rawMs)),
      target: '≥ 0.7× raw bulkPut',
      met: docsPerSec(f.oursCount, f.oursMs) >= 0.7 * docsPerSec(f.rawCount, f.rawMs),
    });
    if (f.stockMs !== undefined) {
      rows.push({
        scenario: 'initial-sync',
        figure: `Diagnostic: initial sync of ${num(f.n)} in Chromium, our client vs stock RxDB replication on the same protocol and page`,
        ours: syncCell(f.n, f.oursMs, f.oursCount, f.partial),
        baseline: syncCell(f.n, f.stockMs, f.stockCount, f.stockPartial),
        ratio: ratioOf(docsPerSec(f.oursCount, f.oursMs), docsPerSec(f.stockCount ?? f.n, f.stockMs)),
        target: '',
        met: null,
        detail: true,
      });
    }
  }
  for (const f of node) {
    rows.push({
      scenario: 'initial-sync',
      figure: `Initial sync of ${num(f.n)} messages, Node (fake-indexeddb), docs/s (vs raw Dexie bulkPut, same process)`,
      ours: syncCell(f.n, f.oursMs, f.oursCount, f.partial),
      baseline: syncCell(f.n, f.rawMs),
      ratio: ratioOf(docsPerSec(f.oursCount, f.oursMs), docsPerSec(f.rawCount, f.rawMs)),
      target: '',
      met: null,
      detail: ctx.mode !== 'smoke' && browser.length > 0,
    });
  }
  return {
    scenario: 'initial-sync',
    rows,
    details: { node, browser, conversations: CONVERSATIONS },
    notes,
    durationMs: performance.now() - t0,
  };
}
