/**
 * Scenario 6 — a peer: the initial-sync workload through RxDB's stock replication-websocket
 * server (rxdb/plugins/replication-websocket) with stock RxDB clients, side by side with ours
 * from scenario 3 of the same run (the runner joins them). The delivery-latency comparison with
 * the same peer runs inside scenario 1 (latency.ts), level by level back to back with ours.
 *
 * Fairness notes: the peer server keeps its data in RxDB's in-memory storage (RxDB's SQLite
 * storage is premium; the trial caps 500 documents), so it pays no disk and no durability. Stock
 * replication-websocket has no authentication and no per-user scoping: every subscriber gets
 * every change of a collection. So in scenario 1 the background load goes to a second collection
 * (`traffic`) the probe replicas do not subscribe to, and has no receivers; our server also fans
 * each message out to its recipient and handles delivery receipts.
 */

import { withBenchPage } from '../lib/browser';
import { newUserId } from '../lib/docs';
import type { Worker } from '../../chaos/lib/ipc';
import { openPeerReplica } from '../lib/replicas';
import { type Ctx, num, type Row, ratioOf, type ScenarioResult } from '../lib/report';
import { startServerHost } from '../lib/workers';
import { conversationsFor, docsPerSec, sizesFor, syncCapMs, syncCell, withinCap } from './initial-sync';

interface PeerSync {
  n: number;
  nodeMs: number;
  nodeCount: number;
  nodePartial: boolean;
  chromiumMs?: number;
  chromiumCount?: number;
  chromiumPartial?: boolean;
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
  let sync: PeerSync[] = [];
  try {
    sync = await initialSync(ctx, host);
  } finally {
    await host.stop();
  }
  return { scenario: 'peer', rows: [], details: { sync }, notes: [], durationMs: performance.now() - t0 };
}

/** Side-by-side rows: ours from scenario 3 of the same run, the peer from this one. */
export function peerRows(peer: ScenarioResult | undefined, syncRes: ScenarioResult | undefined): Row[] {
  if (!peer) return [];
  const rows: Row[] = [];
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
