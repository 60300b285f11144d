/**
 * Scenario 6 — a peer: the latency and initial-sync workloads through RxDB's stock
 * replication-websocket server (rxdb/plugins/replication-websocket) with stock RxDB clients,
 * side by side with ours from scenarios 1 and 3 of the same run (the runner joins them).
 *
 * Fairness notes: the peer server keeps its data in RxDB's in-memory storage (RxDB's SQLite
 * storage is premium; the trial caps 500 documents), so it pays no disk and no durability. Stock
 * replication-websocket has no authentication and no per-user scoping: every subscriber gets
 * every change of a collection. So the background load goes to a second collection (`traffic`)
 * the probe replicas do not subscribe to, and has no receivers; our server, in scenario 1, also
 * fans each message out to its recipient and handles delivery receipts.
 */

import { withBenchPage } from '../lib/browser';
import { draftMessage, newUserId } from '../lib/docs';
import type { Worker } from '../../chaos/lib/ipc';
import { type ProbeResult, Prober, probeContent, probeTag } from '../lib/probes';
import { openPeerReplica } from '../lib/replicas';
import { type Ctx, num, type Row, ratioOf, type ScenarioResult, triple } from '../lib/report';
import { sleep } from '../lib/stats';
import { startLoadGen, startServerHost } from '../lib/workers';
import { conversationsFor, docsPerSec, sizesFor, syncCapMs, syncCell, withinCap } from './initial-sync';
import { latencyConfig } from './latency';

interface PeerLevel {
  rate: number;
  probes: ProbeResult;
  load: any;
}
interface PeerSync {
  n: number;
  nodeMs: number;
  nodeCount: number;
  nodePartial: boolean;
  chromiumMs?: number;
  chromiumCount?: number;
  chromiumPartial?: boolean;
}

async function latency(ctx: Ctx, host: Worker): Promise<PeerLevel[]> {
  const cfg = latencyConfig(ctx.mode);
  const gen = await startLoadGen('peer-load');
  const out: PeerLevel[] = [];
  try {
    const { url } = await host.call<{ url: string }>('start', { kind: 'peer' });
    await gen.call('setup', { kind: 'peer', url, conversations: cfg.conversations });
    const A = await openPeerReplica(url);
    const B = await openPeerReplica(url);
    await Promise.all([A.replication.awaitInitialReplication(), B.replication.awaitInitialReplication()]);
    const prober = new Prober();
    B.db.messages.insert$.subscribe((ev) => prober.arrived(probeTag(ev.documentData.content)));
    const a = newUserId('a');
    const b = newUserId('b');
    const send = async (tag: string) => {
      const { _deleted, ...m } = draftMessage(`c.${a}.${b}`, a, b, probeContent(tag));
      await A.db.messages.insert(m);
    };
    ctx.log(`  peer: RxDB websocket server, ${cfg.conversations} load writers and stock replicas A, B ready`);
    // Quick mode: only the level the targets are about.
    for (const rate of ctx.mode === 'quick' ? cfg.levels.filter((l) => l === 500) : cfg.levels) {
      const probeRate = Math.min(cfg.probeRate, rate / 2);
      const [load, probes] = await Promise.all([
        gen.call('run', { rate: rate - probeRate, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs, drainMs: cfg.drainMs }),
        prober.run({ rate: probeRate, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs, drainMs: cfg.drainMs, send }),
      ]);
      out.push({ rate, probes, load });
      ctx.log(
        `  ${String(rate).padStart(4)} msg/s peer probes ${triple(probes.latency)} (n=${probes.latency.n}, missing ${probes.missing}); load writes acked ${triple((load as any).ack)}`,
      );
      await sleep(300);
    }
    await Promise.all([A.close(), B.close()]);
    await gen.call('teardown');
  } finally {
    await gen.stop();
  }
  return out;
}

async function initialSync(ctx: Ctx, host: Worker): Promise<PeerSync[]> {
  const out: PeerSync[] = [];
  for (const n of sizesFor(ctx.mode)) {
    const { url } = await host.call<{ url: string }>('start', { kind: 'peer' });
    const seeded = await host.call<{ ms: number }>('seed', { userId: newUserId('h'), n, conversations: conversationsFor(n) });
    ctx.log(`  peer: seeded ${num(n)} messages (${num(seeded.ms)} ms)`);
    const capMs = syncCapMs(ctx.mode, n);
    const t0 = performance.now();
    let stored = 0;
    let counter: { unsubscribe(): void } = { unsubscribe: () => undefined };
    const r = await openPeerReplica(url, {
      beforeStart: (db) => {
        counter = db.messages.insert$.subscribe(() => {
          stored += 1;
        });
      },
    });
    const done = await withinCap(r.replication.awaitInSync(), capMs);
    const nodeMs = performance.now() - t0;
    const atCap = stored;
    counter.unsubscribe();
    await r.replication.cancel();
    const nodeCount = done ? await r.db.messages.count().exec() : atCap;
    await r.close();
    const f: PeerSync = { n, nodeMs, nodeCount, nodePartial: !done };
    ctx.log(`  peer Node ${num(n)}: ${syncCell(n, nodeMs, nodeCount, !done)}`);
    if (!process.env.BENCH_NO_BROWSER) {
      try {
        const b = await withBenchPage(ctx.log, (page) =>
          page.evaluate((o) => (window as any).bench.peer(o), { url, capMs, name: `bench-peer-${n}-${Date.now()}` }),
        );
        f.chromiumMs = b.ms;
        f.chromiumCount = b.count;
        f.chromiumPartial = b.partial;
        ctx.log(`  peer Chromium ${num(n)}: ${syncCell(n, b.ms, b.count, b.partial)}`);
      } catch (err) {
        ctx.log(`  peer Chromium ${num(n)} failed: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    out.push(f);
    await host.call('stop');
  }
  return out;
}

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const host = await startServerHost('peer-server');
  let levels: PeerLevel[] = [];
  let sync: PeerSync[] = [];
  try {
    levels = await latency(ctx, host);
    sync = await initialSync(ctx, host);
  } finally {
    await host.stop();
  }
  return { scenario: 'peer', rows: [], details: { levels, sync }, notes: [], durationMs: performance.now() - t0 };
}

/** Side-by-side rows: ours from scenarios 1 and 3 of the same run, the peer from this one. */
export function peerRows(
  peer: ScenarioResult | undefined,
  latencyRes: ScenarioResult | undefined,
  syncRes: ScenarioResult | undefined,
): Row[] {
  if (!peer) return [];
  const rows: Row[] = [];
  const levels = (peer.details.levels ?? []) as PeerLevel[];
  const ours = ((latencyRes?.details.results ?? []) as { system: string; rate: number; probes: ProbeResult }[]).filter(
    (r) => r.system === 'ours',
  );
  for (const l of levels) {
    const o = ours.find((r) => r.rate === l.rate);
    rows.push({
      scenario: 'peer',
      figure: `Delivery A→B replica, p50/p95/p99 @ ${l.rate} msg/s (vs RxDB replication-websocket peer)`,
      ours: o ? triple(o.probes.latency) : 'not run (scenario 1)',
      baseline: triple(l.probes.latency) + (l.probes.missing ? ` (${l.probes.missing} missing)` : ''),
      ratio: o ? ratioOf(o.probes.latency.p99, l.probes.latency.p99) : null,
      target: 'faster than the peer (p99 ratio < 1)',
      met: o ? o.probes.latency.p99 < l.probes.latency.p99 && o.probes.missing === 0 : null,
    });
  }
  const syncs = (peer.details.sync ?? []) as PeerSync[];
  type OursSync = { n: number; oursMs: number; oursCount: number; partial: boolean };
  const node = (syncRes?.details.node ?? []) as OursSync[];
  const browser = (syncRes?.details.browser ?? []) as OursSync[];
  for (const s of syncs) {
    const b = browser.find((x) => x.n === s.n);
    if (s.chromiumMs !== undefined) {
      rows.push({
        scenario: 'peer',
        figure: `Initial sync of ${num(s.n)} messages, Chromium, docs/s (vs RxDB replication-websocket peer)`,
        ours: b ? syncCell(s.n, b.oursMs, b.oursCount, b.partial) : 'not run (scenario 3)',
        baseline: syncCell(s.n, s.chromiumMs, s.chromiumCount, s.chromiumPartial),
        ratio: b ? ratioOf(docsPerSec(b.oursCount, b.oursMs), docsPerSec(s.chromiumCount ?? s.n, s.chromiumMs)) : null,
        target: 'faster than the peer (ratio > 1)',
        met: b ? docsPerSec(b.oursCount, b.oursMs) > docsPerSec(s.chromiumCount ?? s.n, s.chromiumMs) : null,
      });
    }
    const o = node.find((x) => x.n === s.n);
    rows.push({
      scenario: 'peer',
      figure: `Initial sync of ${num(s.n)} messages, Node, docs/s (vs RxDB replication-websocket peer)`,
      ours: o ? syncCell(s.n, o.oursMs, o.oursCount, o.partial) : 'not run (scenario 3)',
      baseline: syncCell(s.n, s.nodeMs, s.nodeCount, s.nodePartial),
      ratio: o ? ratioOf(docsPerSec(o.oursCount, o.oursMs), docsPerSec(s.nodeCount, s.nodeMs)) : null,
      target: s.chromiumMs === undefined ? 'faster than the peer (ratio > 1)' : '',
      met: s.chromiumMs === undefined && o ? docsPerSec(o.oursCount, o.oursMs) > docsPerSec(s.nodeCount, s.nodeMs) : null,
      detail: s.chromiumMs !== undefined,
    });
  }
  return rows;
}
