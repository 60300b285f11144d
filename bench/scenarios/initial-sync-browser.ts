import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { StoreWrites } from '../browser/store-writes';
import { withBenchPage } from '../lib/browser';
import type { FirstSyncExpectation, FirstSyncResult } from '../lib/first-sync';
import { type Ctx, num } from '../lib/report';
import { firstSyncLine, type SyncFigure, screenOpen, syncCapMs, syncCell, syncTuning } from './initial-sync';

/**
 * BENCH_BROWSER_PROF=<dir>: writes a CPU profile of the page while `fn` runs (open it in Chrome
 * DevTools, or summarise it with `npx tsx bench/lib/profile-summary.ts <file>`).
 */
export async function profiled<T>(page: Page, label: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_BROWSER_PROF;
  if (!dir) return fn();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
  await cdp.send('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await cdp.send('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${label}.cpuprofile`), JSON.stringify(profile));
    await cdp.detach();
  }
}

export interface BrowserSync extends SyncFigure {
  /** Diagnostic: stock RxDB replicateRxCollection on our protocol, same page, same documents. */
  stockMs?: number;
  stockCount?: number;
  stockPartial?: boolean;
  /** Diagnostic: ours' readwrite transactions on the replica's messages store. */
  messageWrites?: StoreWrites;
}

/**
 * The Chromium half of scenario 3, per size: ours (usable inbox, then full history), then the
 * plain-socket download and the raw bulkPut of the same documents; at the first size of a full
 * run, the stock RxDB diagnostic too.
 */
export async function runBrowser(
  ctx: Ctx,
  serverUrl: string,
  diagnostic: boolean,
  users: { n: number; userId: string; token: string; expected: FirstSyncExpectation }[],
): Promise<BrowserSync[]> {
  return withBenchPage(ctx.log, async (page) => {
    const out: BrowserSync[] = [];
    for (const [i, u] of users.entries()) {
      const capMs = syncCapMs(ctx.mode, u.n);
      const ours: FirstSyncResult & { messageWrites: StoreWrites } = await profiled(page, `chromium-ours-initial-sync-${u.n}`, () =>
        page.evaluate((o) => (window as any).bench.ours(o), {
          serverUrl,
          token: u.token,
          userId: u.userId,
          name: 'History',
          databaseName: `bench-ours-${u.userId}`,
          capMs,
          expected: u.expected,
          screen: screenOpen(),
          tuning: syncTuning(),
        }),
      );
      const dl = await page.evaluate((o) => (window as any).bench.download(o), { serverUrl, token: u.token });
      const rawRx = await page.evaluate((o) => (window as any).bench.rawRxLayout(o), { name: `bench-raw-rx-${u.userId}` });
      const raw = await page.evaluate((o) => (window as any).bench.raw(o), { name: `bench-raw-${u.userId}` });
      const f: BrowserSync = {
        n: u.n,
        conversations: u.expected.conversations,
        usableMs: ours.usableMs,
        paneMessages: ours.paneMessages,
        openOldestMs: ours.openOldestMs,
        openOldestMessages: ours.openOldestMessages,
        bootstrapMs: ours.bootstrapMs,
        oursMs: ours.ms,
        oursCount: ours.count,
        partial: ours.partial,
        rawMs: raw.ms,
        rawCount: raw.count,
        rawRxMs: rawRx.ms,
        rawRxCount: rawRx.count,
        downloadMs: dl.ms,
        leaderMs: ours.leaderMs,
        messageWrites: ours.messageWrites,
      };
      ctx.log(
        `  Chromium ${num(u.n)}: ours ${firstSyncLine(f)}, full history ${syncCell(u.n, ours.ms, ours.count, ours.partial)} (leader after ${num(ours.leaderMs)} ms, ${ours.walkUpdates} walk updates); raw bulkPut ${syncCell(u.n, raw.ms)} (into RxDB's table layout ${syncCell(u.n, rawRx.ms)}); raw download ${num(dl.ms)} ms`,
      );
      if (i === 0 && diagnostic) {
        const stock = await profiled(page, `chromium-stock-initial-sync-${u.n}`, () =>
          page.evaluate((o) => (window as any).bench.stock(o), { serverUrl, token: u.token, capMs }),
        );
        f.stockMs = stock.ms;
        f.stockCount = stock.count;
        f.stockPartial = stock.partial;
        ctx.log(
          `  Chromium ${num(u.n)}: diagnostic, stock RxDB replication on our protocol ${syncCell(u.n, stock.ms, stock.count, stock.partial)}`,
        );
      }
      out.push(f);
    }
    return out;
  });
}
