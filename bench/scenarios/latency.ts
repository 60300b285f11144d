/**
 * Scenario 1 — delivery latency: a message written into user A's replica until it is stored in
 * user B's replica, at rising steady loads across many conversations. Baselines in the same
 * run, level by level back to back: a raw Socket.io relay of the same payload (the floor), REST
 * polling every 2 s (FetchWork today) and RxDB's stock replication-websocket server with stock
 * RxDB replicas (the peer; fairness notes in peer.ts).
 *
 * The load: `conversations` sender/receiver pairs of lightweight protocol clients in a child
 * process (for ours they pull, apply streams and send delivery receipts like the real client).
 * The probes: real replicas in this process — our client (createInbox, Dexie on fake-indexeddb)
 * for ours, plain sockets for the relay, fetch + 2 s polling for REST, stock RxDB replicas (also
 * on fake-indexeddb) for the peer — sending part of the load. The peer's load writers write to a
 * collection its probe replicas do not replicate, and nobody receives their messages.
 */
import { newMessageId } from '@fetchwork/shared-schema';
import type { InboxHandle } from '../../client/src/inbox/create-inbox';
import { draftConversation, draftMessage, newUserId, tokenFor } from '../lib/docs';
import { idbCounts, installIdbCounter } from '../lib/idb-counter';
import type { Worker } from '../../chaos/lib/ipc';
import { ProbeStages, type StageSummary, tagsIn } from '../lib/probe-stages';
import { type ProbeResult, Prober, probeContent, probeTag } from '../lib/probes';
import { RawClient, RestClient } from '../lib/protocol-clients';
import { nodeStorage, openOursReplica, openPeerReplica } from '../lib/replicas';
import { type Ctx, type Row, ratioOf, type ScenarioResult, triple } from '../lib/report';
import { type Summary, sleep, summarize, waitUntil } from '../lib/stats';
import { openStockReplica } from '../lib/stock-replica';
import { startLoadGen, startServerHost } from '../lib/workers';

export interface LatencyConfig {
  levels: number[];
  restLevels: number[];
  warmupMs: number;
  measureMs: number;
  drainMs: number;
  conversations: number;
  probeRate: number;
}

export function latencyConfig(mode: Ctx['mode']): LatencyConfig {
  if (mode === 'smoke')
    return { levels: [40], restLevels: [40], warmupMs: 300, measureMs: 1200, drainMs: 3000, conversations: 10, probeRate: 10 };
  if (mode === 'quick')
    return { levels: [100, 500], restLevels: [500], warmupMs: 700, measureMs: 2500, drainMs: 2000, conversations: 100, probeRate: 20 };
  return {
    levels: [50, 200, 500, 1000],
    restLevels: [50, 200, 500, 1000],
    warmupMs: 2000,
    measureMs: 8000,
    drainMs: 4000,
    conversations: 100,
    probeRate: 20,
  };
}

interface System {
  name: 'ours' | 'raw' | 'rest' | 'peer';
  host: Worker;
  gen: Worker;
  prober: Prober;
  /** Ours only: where each probe's time goes. */
  stages?: ProbeStages;
  send(tag: string): Promise<unknown>;
  beforeRun?(): void;
  afterRun?(): void;
  close(): Promise<void>;
}

/** How late the server's event loop ran during a level (ms), and its garbage collector's pauses. */
interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  gc: { count: number; totalMs: number; maxMs: number; major: number };
}

export interface LevelResult {
  rate: number;
  system: string;
  probes: ProbeResult;
  load: any;
  serverLoop: LoopDelay;
  stages: StageSummary | null;
}

async function startSystem(name: System['name'], cfg: LatencyConfig, log: Ctx['log']): Promise<System> {
  const [host, gen] = await Promise.all([startServerHost(`${name}-server`), startLoadGen(`${name}-load`)]);
  const { url } = await host.call<{ url: string }>('start', { kind: name === 'rest' ? 'ours' : name });
  await gen.call('setup', { kind: name, url, conversations: cfg.conversations, receipts: true });
  const prober = new Prober();
  const a = newUserId('a');
  const b = newUserId('b');
  const stop = async () => {
    await gen.stop();
    await host.stop();
  };
  if (name === 'ours') {
    const A: InboxHandle = await openOursReplica(url, a, 'Alice');
    const B: InboxHandle = await openOursReplica(url, b, 'Bob');
    const conv = await A.createConversation(b, null, 'Bob');
    await waitUntil(() => B.database.conversations.findOne(conv).exec(), 'B to receive the conversation', 20_000);
    const stages = new ProbeStages();
    B.database.messages.insert$.subscribe((ev) => {
      const tag = probeTag(ev.documentData.content);
      stages.stored(tag);
      prober.arrived(tag);
    });
    A.socket.onAnyOutgoing((event: string, ...args: unknown[]) => {
      if (event === 'sync:push') stages.pushed(tagsIn(args));
    });
    B.socket.onAny((event: string, ...args: unknown[]) => {
      if (event === 'sync:stream') stages.arrived(tagsIn(args));
    });
    log(`  ${name}: server, ${cfg.conversations} conversations of load clients and replicas A, B ready`);
    return {
      name,
      host,
      gen,
      prober,
      stages,
      send: (tag) => {
        stages.begin(tag);
        return A.sendMessage(conv, probeContent(tag));
      },
      async close() {
        await Promise.all([A.close(), B.close()]);
        await stop();
      },
    };
  }
  if (name === 'raw') {
    const A = new RawClient(a);
    const B = new RawClient(b, (doc, at) => prober.arrived(probeTag(doc.content), at));
    await Promise.all([A.connect(url), B.connect(url)]);
    log(`  ${name}: relay, ${cfg.conversations} conversations of load clients and sockets A, B ready`);
    return {
      name,
      host,
      gen,
      prober,
      send: (tag) => A.send(draftMessage(`c.${a}.${b}`, a, b, probeContent(tag))),
      async close() {
        A.close();
        B.close();
        await stop();
      },
    };
  }
  if (name === 'peer') {
    const A = await openPeerReplica(url);
    const B = await openPeerReplica(url);
    await Promise.all([A.replication.awaitInitialReplication(), B.replication.awaitInitialReplication()]);
    B.db.messages.insert$.subscribe((ev) => prober.arrived(probeTag(ev.documentData.content)));
    log(`  ${name}: RxDB websocket server, ${cfg.conversations} load writers and stock replicas A, B ready`);
    return {
      name,
      host,
      gen,
      prober,
      send: async (tag) => {
        const { _deleted, ...m } = draftMessage(`c.${a}.${b}`, a, b, probeContent(tag));
        await A.db.messages.insert(m);
      },
      async close() {
        await Promise.all([A.close(), B.close()]);
        await stop();
      },
    };
  }
  const A = new RestClient(a, tokenFor(a), url);
  const B = new RestClient(b, tokenFor(b), url, (doc, at) => prober.arrived(probeTag(doc.content), at));
  const conv = await A.createConversation(b);
  log(`  ${name}: REST server, ${cfg.conversations} conversations of load clients and clients A, B ready`);
  return {
    name,
    host,
    gen,
    prober,
    send: (tag) => A.send(conv, newMessageId(), probeContent(tag)),
    beforeRun: () => B.startPolling(conv, 2000, Math.random() * 2000),
    afterRun: () => B.close(),
    async close() {
      A.close();
      B.close();
      await stop();
    },
  };
}

interface Unloaded {
  system: string;
  messages: number;
  readwritePerMessage: number;
  readonlyPerMessage: number;
  latency: ReturnType<typeof summarize>;
}

/**
 * Diagnostic, on an otherwise idle server: messages one at a time (300 ms apart) from A to B,
 * through our client and through stock RxDB replication speaking the same protocol, counting
 * IndexedDB transactions in both replicas per message (independent of machine noise).
 */
async function unloaded(ctx: Ctx, n: number): Promise<Unloaded[]> {
  installIdbCounter();
  const host = await startServerHost('diagnostic-server');
  const out: Unloaded[] = [];
  try {
    const { url } = await host.call<{ url: string }>('start', { kind: 'ours' });
    const a = newUserId('a');
    const b = newUserId('b');
    for (const system of ['ours', 'stock'] as const) {
      const prober = new Prober();
      let send: (tag: string) => Promise<unknown>;
      let close: () => Promise<unknown>;
      if (system === 'ours') {
        const A = await openOursReplica(url, a, 'Alice');
        const B = await openOursReplica(url, b, 'Bob');
        const conv = await A.createConversation(b, null, 'Bob');
        await waitUntil(() => B.database.conversations.findOne(conv).exec(), 'B to receive the conversation', 20_000);
        B.database.messages.insert$.subscribe((ev) => prober.arrived(probeTag(ev.documentData.content)));
        send = (tag) => A.sendMessage(conv, probeContent(tag));
        close = () => Promise.all([A.close(), B.close()]);
      } else {
        const A = await openStockReplica({ url, token: tokenFor(a), storage: nodeStorage() });
        const B = await openStockReplica({ url, token: tokenFor(b), storage: nodeStorage() });
        const { _deleted, ...conv } = draftConversation(a, b, 'stock');
        await A.db.conversations.insert(conv);
        await waitUntil(() => B.db.conversations.findOne(conv.id).exec(), 'B to receive the conversation', 20_000);
        B.db.messages.insert$.subscribe((ev) => prober.arrived(probeTag(ev.documentData.content)));
        send = async (tag) => {
          const { _deleted: _d, ...m } = draftMessage(conv.id, a, b, probeContent(tag));
          await A.db.messages.insert(m);
        };
        close = () => Promise.all([A.close(), B.close()]);
      }
      await sleep(500);
      await send('probe-warm-0');
      await sleep(1000);
      const c0 = idbCounts();
      const latencies: number[] = [];
      for (let i = 0; i < n; i++) {
        const r = await prober.run({ rate: 1, warmupMs: 0, measureMs: 10, drainMs: 5000, send });
        latencies.push(r.latency.p50);
        await sleep(300);
      }
      await sleep(1500);
      const c1 = idbCounts();
      await close();
      const u: Unloaded = {
        system,
        messages: n,
        readwritePerMessage: (c1.readwrite - c0.readwrite) / n,
        readonlyPerMessage: (c1.readonly - c0.readonly) / n,
        latency: summarize(latencies.filter(Number.isFinite)),
      };
      out.push(u);
      ctx.log(
        `  diagnostic, one message at a time, ${system}: ${triple(u.latency)}; IndexedDB transactions per message (A+B): ${u.readwritePerMessage.toFixed(1)} readwrite, ${u.readonlyPerMessage.toFixed(1)} readonly`,
      );
    }
  } finally {
    await host.stop();
  }
  return out;
}

function stagesText(st: StageSummary): string {
  const part = (x: Summary) => `${x.p50.toFixed(1)} / ${x.p99.toFixed(1)}`;
  const w = st.slowest;
  return `${part(st.sender)} + ${part(st.server)} + ${part(st.recipient)} ms; slowest ${w.n}: ${w.total.toFixed(1)} = ${w.sender.toFixed(1)} + ${w.server.toFixed(1)} + ${w.recipient.toFixed(1)} ms`;
}

async function runLevel(sys: System, rate: number, cfg: LatencyConfig): Promise<LevelResult> {
  const probeRate = Math.min(cfg.probeRate, rate / 2);
  // REST: a message is only seen at the next poll, so the drain allows two more polls.
  const drainMs = sys.name === 'rest' ? Math.max(cfg.drainMs, 5000) : cfg.drainMs;
  sys.beforeRun?.();
  await sys.host.call('loopDelay');
  const window = performance.now() + cfg.warmupMs;
  const [load, probes] = await Promise.all([
    sys.gen.call('run', { rate: rate - probeRate, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs, drainMs, pollIntervalMs: 2000 }),
    sys.prober.run({ rate: probeRate, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs, drainMs, send: sys.send }),
  ]);
  const serverLoop = await sys.host.call<LoopDelay>('loopDelay');
  sys.afterRun?.();
  const stages = sys.stages?.take(window, window + cfg.measureMs) ?? null;
  return { rate, system: sys.name, probes, load, serverLoop, stages };
}

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const cfg = latencyConfig(ctx.mode);
  const systems: System[] = [];
  const results: LevelResult[] = [];
  try {
    // The peer (scenario 6's RxDB replication-websocket) runs here too, so each level is measured
    // back to back for every system: a p99 of a few hundred probes moves by up to 2× between runs
    // minutes apart.
    const started = await Promise.allSettled((['ours', 'raw', 'rest', 'peer'] as const).map((name) => startSystem(name, cfg, ctx.log)));
    for (const s of started) if (s.status === 'fulfilled') systems.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    for (const rate of cfg.levels) {
      for (const sys of systems) {
        if (sys.name === 'rest' && !cfg.restLevels.includes(rate)) continue;
        const r = await runLevel(sys, rate, cfg);
        results.push(r);
        const l = r.load;
        ctx.log(
          `  ${String(rate).padStart(4)} msg/s ${sys.name.padEnd(4)} probes ${triple(r.probes.latency)} (n=${r.probes.latency.n}, missing ${r.probes.missing})` +
            `; load clients ${triple(l.latency)} (n=${l.latency.n}, missing ${l.missing}, errors ${l.errors})`,
        );
        if (r.stages) ctx.log(`         by part (A's client + server + B's client, p50 / p99): ${stagesText(r.stages)}`);
        await sleep(300);
      }
    }
  } finally {
    await Promise.all(systems.map((s) => s.close().catch(() => undefined)));
  }
  // Full runs only: it adds ~15 s, which quick mode cannot spare.
  const diag = ctx.mode === 'full' || process.env.BENCH_DIAGNOSTIC ? await unloaded(ctx, 10) : [];
  const at = (system: string, rate: number) => results.find((r) => r.system === system && r.rate === rate);
  /** One row per level that both ours and the baseline system ran (none where `row` gives null). */
  const perLevel = (baseline: 'raw' | 'rest' | 'peer', row: (o: LevelResult, b: LevelResult, rate: number) => Row | null): Row[] =>
    cfg.levels.flatMap((rate) => {
      const o = at('ours', rate);
      const b = at(baseline, rate);
      const made = o && b ? row(o, b, rate) : null;
      return made ? [made] : [];
    });
  const loop = (d: LoopDelay) =>
    `${d.p50.toFixed(1)} / ${d.p99.toFixed(1)} / max ${d.max.toFixed(1)} ms (GC ${d.gc.count} pauses, ${d.gc.totalMs.toFixed(0)} ms, longest ${d.gc.maxMs.toFixed(1)} ms)`;
  const rows: Row[] = [
    ...perLevel('raw', (o, r, rate) => {
      const p99 = o.probes.latency.p99;
      const ratio = ratioOf(p99, r.probes.latency.p99);
      return {
        scenario: 'latency',
        figure: `Delivery A→B replica, p50/p95/p99 @ ${rate} msg/s (vs raw Socket.io relay)`,
        ours: triple(o.probes.latency) + (o.probes.missing ? ` (${o.probes.missing} missing)` : ''),
        baseline: triple(r.probes.latency),
        ratio,
        target: rate === 500 ? 'p99 ≤ 3× relay and < 30 ms' : '',
        met: rate === 500 ? ratio !== null && ratio <= 3 && p99 < 30 && o.probes.missing === 0 : null,
      };
    }),
    ...perLevel('peer', (o, p, rate) => ({
      scenario: 'latency',
      figure: `Delivery A→B replica, p50/p95/p99 @ ${rate} msg/s (vs RxDB replication-websocket peer, the same level back to back)`,
      ours: triple(o.probes.latency) + (o.probes.missing ? ` (${o.probes.missing} missing)` : ''),
      baseline: triple(p.probes.latency) + (p.probes.missing ? ` (${p.probes.missing} missing)` : ''),
      ratio: ratioOf(o.probes.latency.p99, p.probes.latency.p99),
      target: 'faster than the peer (p99 ratio < 1)',
      met: o.probes.latency.p99 < p.probes.latency.p99 && o.probes.missing === 0,
    })),
    ...perLevel('rest', (o, rest, rate) => ({
      scenario: 'latency',
      figure: `Delivery A→B, p50/p95/p99 @ ${rate} msg/s (vs REST polling every 2 s)`,
      ours: triple(o.probes.latency),
      baseline: triple(rest.probes.latency),
      ratio: ratioOf(o.probes.latency.p99, rest.probes.latency.p99),
      target: '',
      met: null,
    })),
    ...perLevel('raw', (o, r, rate) => ({
      scenario: 'latency',
      figure: `Server path (protocol client → protocol client, ${cfg.conversations} conversations), p50/p95/p99 @ ${rate} msg/s`,
      ours: triple(o.load.latency) + (o.load.missing || o.load.errors ? ` (${o.load.missing} missing, ${o.load.errors} errors)` : ''),
      baseline: triple(r.load.latency),
      ratio: ratioOf(o.load.latency.p99, r.load.latency.p99),
      target: '',
      met: null,
      detail: true,
    })),
    ...perLevel('raw', (o, r, rate) =>
      o.stages
        ? {
            scenario: 'latency',
            figure: `Delivery A→B replica, ours @ ${rate} msg/s, by part, p50 / p99: A's client (the write until its push leaves) + socket to socket (through the server) + B's client (the batch on B's socket until stored); the slowest 5 %, mean of each part (ratio: socket to socket p99 vs the relay's, which is socket to socket)`,
            ours: stagesText(o.stages),
            baseline: triple(r.probes.latency),
            ratio: ratioOf(o.stages.server.p99, r.probes.latency.p99),
            target: '',
            met: null,
            detail: true,
          }
        : null,
    ),
    ...perLevel('raw', (o, r, rate) => ({
      scenario: 'latency',
      figure: `Server event-loop delay during the level, p50 / p99 / max, and the GC's pauses @ ${rate} msg/s (vs the relay's)`,
      ours: loop(o.serverLoop),
      baseline: loop(r.serverLoop),
      ratio: ratioOf(o.serverLoop.p99, r.serverLoop.p99),
      target: '',
      met: null,
      detail: true,
    })),
  ];
  const dOurs = diag.find((d) => d.system === 'ours');
  const dStock = diag.find((d) => d.system === 'stock');
  if (dOurs && dStock) {
    rows.push({
      scenario: 'latency',
      figure: `Diagnostic: one message at a time on an idle server, A→B, our client vs stock RxDB replication on the same protocol`,
      ours: triple(dOurs.latency),
      baseline: triple(dStock.latency),
      ratio: ratioOf(dOurs.latency.p50, dStock.latency.p50),
      target: '',
      met: null,
      detail: true,
    });
    rows.push({
      scenario: 'latency',
      figure:
        'Diagnostic: IndexedDB transactions per message in A and B together (readwrite + readonly), our client vs stock RxDB replication',
      ours: `${dOurs.readwritePerMessage.toFixed(1)} + ${dOurs.readonlyPerMessage.toFixed(1)}`,
      baseline: `${dStock.readwritePerMessage.toFixed(1)} + ${dStock.readonlyPerMessage.toFixed(1)}`,
      ratio: ratioOf(dOurs.readwritePerMessage + dOurs.readonlyPerMessage, dStock.readwritePerMessage + dStock.readonlyPerMessage),
      target: '',
      met: null,
      detail: true,
    });
  }
  return {
    scenario: 'latency',
    rows,
    details: { config: cfg, results, unloaded: diag },
    notes: [
      'Probes: real replicas (our client via createInbox on fake-indexeddb; raw sockets; REST fetch + 2 s polling) in the bench process; background load from lightweight protocol clients in a child process; each server in its own child process.',
      'Ours includes what the product does per message: the local write (no outbox entry for a new message), push, commit, stream to both participants, the store in B, and B’s automatic delivery receipt (load clients send receipts too).',
    ],
    durationMs: performance.now() - t0,
  };
}
