/**
 * Scenario 2 — throughput: pushes accepted (validated, authorised, committed with their
 * conversation update and feed rows) and fanned out (streamed to both participants' sockets)
 * per second by one server instance on SQLite, with closed-loop protocol clients in a child
 * process. Baseline in the same run: raw better-sqlite3, one row per transaction, same rows.
 * Server CPU per message is reported too: it is far less sensitive to a noisy machine than a
 * rate, and 1e6 / (µs per message) is what one fully available core could sustain.
 */
import { join } from 'node:path';
import { type Ctx, num, type Row, ratioOf, type ScenarioResult } from '../lib/report';
import { startLoadGen, startServerHost } from '../lib/workers';

interface Cfg {
  conversations: number;
  durationMs: number;
  warmupMs: number;
  rawRows: number;
  /** Rounds of the store-only figure (one one-message commit per conversation each). */
  storeRounds: number;
  /** The long reads' figure: one user's history, and how many searches and history pages. */
  longReads: { messages: number; conversations: number; searches: number; pages: number };
}

const config = (mode: Ctx['mode']): Cfg =>
  mode === 'smoke'
    ? {
        conversations: 10,
        durationMs: 1000,
        warmupMs: 300,
        rawRows: 2000,
        storeRounds: 20,
        longReads: { messages: 3000, conversations: 30, searches: 3, pages: 2 },
      }
    : mode === 'quick'
      ? {
          conversations: 100,
          durationMs: 1500,
          warmupMs: 500,
          rawRows: 5000,
          storeRounds: 150,
          longReads: { messages: 20_000, conversations: 100, searches: 5, pages: 10 },
        }
      : {
          conversations: 100,
          durationMs: 8000,
          warmupMs: 2000,
          rawRows: 30_000,
          storeRounds: 800,
          longReads: { messages: 100_000, conversations: 500, searches: 9, pages: 30 },
        };

const perTransaction = (s: { transactions: number; commits: number } | null) => (s ? num(s.commits / Math.max(1, s.transactions), 1) : '?');
const cpuMs = (a: { user: number; system: number }, b: { user: number; system: number }) => (b.user - a.user + b.system - a.system) / 1000;

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const cfg = config(ctx.mode);
  const [host, gen] = await Promise.all([startServerHost('throughput-server'), startLoadGen('throughput-load')]);
  const variants: Record<string, any> = {};
  let raw: { rowsPerSec: number; cpuUsPerRow: number; seconds: number };
  let store: { cpuUsPerCommit: number; commitsPerSec: number };
  type Stalls = { search: number; page: number; searchMs: number };
  let longReads: { thread: Stalls; loop: Stalls };
  try {
    raw = await host.call('rawSqlite', { rows: cfg.rawRows });
    ctx.log(`  raw better-sqlite3: ${num(raw.rowsPerSec)} rows/s, ${num(raw.cpuUsPerRow, 1)} µs CPU per row`);
    store = await host.call('storeCommits', {
      conversations: cfg.conversations,
      rounds: cfg.storeRounds,
      warmup: Math.ceil(cfg.storeRounds / 10),
    });
    ctx.log(`  store only: ${num(store.commitsPerSec)} one-message commits/s, ${num(store.cpuUsPerCommit, 1)} µs CPU per commit`);
    longReads = await host.call('longReadStalls', cfg.longReads);
    ctx.log(
      `  long reads, ${num(cfg.longReads.messages)} messages: longest event-loop stall per search ${num(longReads.thread.search, 1)} ms ` +
        `(on the event loop ${num(longReads.loop.search, 1)} ms; a search takes ${num(longReads.thread.searchMs, 0)} ms), ` +
        `per history page ${num(longReads.thread.page, 1)} ms (${num(longReads.loop.page, 1)} ms)`,
    );
    const cases = [
      { name: 'single', inflight: 1, batch: 1, label: '1-row pushes, one in flight per sender' },
      { name: 'batch50', inflight: 1, batch: 50, label: '50-row pushes (RxDB batching a backlog)' },
      { name: 'concurrent', inflight: 8, batch: 1, label: '1-row pushes, 8 in flight per sender (same conversation)' },
    ] as { name: string; inflight: number; batch: number; label: string }[];
    for (const c of cases) {
      if (ctx.mode !== 'full' && c.name === 'concurrent') continue;
      const { url } = await host.call<{ url: string }>('start', { kind: 'ours' });
      await gen.call('setup', { kind: 'ours', url, conversations: cfg.conversations, receipts: false });
      const s0 = await host.call<any>('cpu');
      const g0 = await gen.call<any>('cpu');
      // BENCH_SERVER_ALLOC=<dir>: where the 1-row case allocates (server-host's allocSampling).
      const alloc = c.name === 'single' ? process.env.BENCH_SERVER_ALLOC : undefined;
      if (alloc) await host.call('allocSampling', { action: 'start' });
      const r = await gen.call<any>('throughput', {
        durationMs: cfg.durationMs,
        warmupMs: cfg.warmupMs,
        inflight: c.inflight,
        batch: c.batch,
      });
      const s1 = await host.call<any>('cpu');
      if (alloc)
        ctx.log(
          `  allocation profile: ${await host.call('allocSampling', { action: 'stop', path: join(alloc, 'throughput-single.heapprofile') })}`,
        );
      const g1 = await gen.call<any>('cpu');
      const storeStats = await host.call<{ transactions: number; commits: number; groupsRunAgain?: number } | null>('storeStats');
      await gen.call('teardown');
      const total = (cfg.warmupMs + cfg.durationMs) / 1000;
      // CPU over warmup + window + drain, divided by every message stored in that time (estimated from the window's rate).
      const serverCpuMs = cpuMs(s0, s1);
      const storedAll = r.storedPerSec * total;
      variants[c.name] = {
        ...r,
        label: c.label,
        serverCpuMs,
        loadGenCpuMs: cpuMs(g0, g1),
        serverCpuUsPerMsg: storedAll > 0 ? (serverCpuMs * 1000) / storedAll : Number.NaN,
        serverCpuShare: serverCpuMs / 1000 / total,
        storeStats,
      };
      const v = variants[c.name];
      ctx.log(
        `  ours ${c.label}: ${num(r.storedPerSec)} accepted msg/s, ${num(r.receivedPerSec)} delivered/s, ${num(r.pushesPerSec)} pushes/s, errors ${r.errors}; ` +
          `server CPU ${num(v.serverCpuUsPerMsg, 0)} µs/msg (${num(v.serverCpuShare * 100)}% of a core), load generator ${num((v.loadGenCpuMs / 1000 / total) * 100)}% of a core` +
          (storeStats
            ? `; SQLite: ${num(storeStats.transactions)} group transactions, ${num(storeStats.groupsRunAgain ?? 0)} run again with savepoints`
            : ''),
      );
    }
  } finally {
    await Promise.all([gen.stop(), host.stop()]);
  }
  const single = variants.single;
  const rows: Row[] = [
    {
      scenario: 'throughput',
      figure: `Accepted msg/s per instance, SQLite, 1-row pushes, ${cfg.conversations} conversations (vs raw better-sqlite3 1-row transactions)`,
      ours: `${num(single.storedPerSec)} msg/s (fan-out ${num(single.receivedPerSec)}/s; ${perTransaction(single.storeStats)} pushes per SQLite transaction)`,
      baseline: `${num(raw.rowsPerSec)} rows/s`,
      ratio: ratioOf(single.storedPerSec, raw.rowsPerSec),
      target: '≥ 5,000 msg/s',
      met: single.storedPerSec >= 5000 && single.errors === 0,
    },
    {
      scenario: 'throughput',
      figure: 'Server CPU per accepted message, 1-row pushes (vs raw 1-row transaction)',
      ours: `${num(single.serverCpuUsPerMsg, 0)} µs (≈ ${num(1e6 / single.serverCpuUsPerMsg)} msg/s per core)`,
      baseline: `${num(raw.cpuUsPerRow, 1)} µs`,
      ratio: ratioOf(single.serverCpuUsPerMsg, raw.cpuUsPerRow),
      target: '',
      met: null,
      detail: true,
    },
    {
      scenario: 'throughput',
      figure: `Store only: CPU per one-message commit with its conversation's rewrite, ${cfg.conversations} per group transaction (vs raw 1-row transaction)`,
      ours: `${num(store.cpuUsPerCommit, 1)} µs (${num(store.commitsPerSec)} commits/s)`,
      baseline: `${num(raw.cpuUsPerRow, 1)} µs`,
      ratio: ratioOf(store.cpuUsPerCommit, raw.cpuUsPerRow),
      target: '',
      met: null,
      detail: true,
    },
  ];
  rows.push({
    scenario: 'throughput',
    figure: `A long read and everyone else: the longest the server's event loop is held while it answers a search over a user's ${num(cfg.longReads.messages)} messages (found nowhere: the whole feed is read) · a history page of 1,000, read and encoded for the socket; the store's read thread vs the same reads on the event loop (medians of ${cfg.longReads.searches} searches, ${cfg.longReads.pages} pages)`,
    ours: `${num(longReads.thread.search, 1)} · ${num(longReads.thread.page, 1)} ms (a search takes ${num(longReads.thread.searchMs, 0)} ms)`,
    baseline: `${num(longReads.loop.search, 1)} · ${num(longReads.loop.page, 1)} ms`,
    ratio: ratioOf(longReads.thread.search, longReads.loop.search),
    target: '',
    met: null,
    detail: true,
  });
  if (variants.batch50) {
    const b = variants.batch50;
    rows.push({
      scenario: 'throughput',
      figure: 'Accepted msg/s per instance, 50-row pushes (vs raw 1-row transactions)',
      ours: `${num(b.storedPerSec)} msg/s (${num(b.serverCpuUsPerMsg, 0)} µs CPU/msg)`,
      baseline: `${num(raw.rowsPerSec)} rows/s`,
      ratio: ratioOf(b.storedPerSec, raw.rowsPerSec),
      target: '',
      met: null,
      detail: true,
    });
  }
  if (variants.concurrent) {
    const c = variants.concurrent;
    rows.push({
      scenario: 'throughput',
      figure: 'Concurrent 1-row pushes into one conversation (8 in flight per sender): accepted msg/s and failed pushes',
      ours: `${num(c.storedPerSec)} msg/s, ${c.errors} failed pushes`,
      baseline: `${num(raw.rowsPerSec)} rows/s`,
      ratio: ratioOf(c.storedPerSec, raw.rowsPerSec),
      target: 'no failed pushes',
      met: c.errors === 0,
      detail: true,
    });
  }
  return {
    scenario: 'throughput',
    rows,
    details: { config: cfg, raw, store, variants },
    notes: [
      'Closed loop: every sender keeps its pushes in flight back to back; a message counts when the ack says it was stored. Fan-out = messages received by the recipients’ sockets per second. Delivery receipts are off here (scenario 1 has them).',
    ],
    durationMs: performance.now() - t0,
  };
}
