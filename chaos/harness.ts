import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jwt from 'jsonwebtoken';
import { OWN_TOKEN_CLAIMS } from '../sync-server/src/auth/tokens';
import { deriveSeed, FaultProxy, seededRandom } from './fault-proxy';
import { hashDocs } from './lib/canonical';
import { checkRun, countFindings, emptyFindings, type Findings, type ServerState, type Suspect } from './lib/checks';
import { startWorker, type Worker } from './lib/ipc';
import { CHAOS_JWT_SECRET, freePort, ServerProcess } from './lib/server-process';
import { StoreReader } from './lib/store-reader';
import type { ActionMix, Checkpoints, DeviceDigest, DeviceDump, DeviceSpec } from './lib/types';

export interface ChaosOptions {
  seed: number;
  /** Length of the fault phase; the workload runs at least this long (longer if devices lag behind their quota). */
  durationS: number;
  users: number;
  devicesPerUser: number;
  /** Conversations per user (a ring: user i talks to i±1, i±2, ...). */
  conversationsPerUser: number;
  /** Messages each device sends. */
  messagesPerClient: number;
  /** Server kill -9 + restarts, spread over the duration. */
  kills: number;
  /** RxDB's open-source build allows 13 open collections per process; a device holds 3. */
  devicesPerWorker?: number;
  quiesceTimeoutS?: number;
  mix?: ActionMix;
  /** Keep the run directory (SQLite file, server log) even when the run passes. */
  keep?: boolean;
  log?: (line: string) => void;
}

export interface FaultCounts {
  kill: number;
  cut: number;
  blackhole: number;
  refuse: number;
  reload: number;
  /** Devices that started over as a new device (replica deleted, bootstrap and history walk). */
  fresh: number;
  /** Reloads that closed a replica while its history walk still had pages to load. */
  walkReloads: number;
  slow: number;
  delayedChunks: number;
  refusedConnections: number;
}

export interface ChaosFigures {
  seed: number;
  clients: number;
  users: number;
  messages: number;
  edits: number;
  deletes: number;
  reads: number;
  serverMessages: number;
  faults: FaultCounts;
  probes: number;
  lost: number;
  duplicated: number;
  diverged: number;
  checkpoint: number;
  unsettled: number;
  errors: number;
  converged: boolean;
  workloadS: number;
  quiesceS: number;
  totalS: number;
}

export interface ChaosResult {
  figures: ChaosFigures;
  findings: Findings;
  /** Unexpected errors seen by devices or their processes. */
  errors: string[];
  /** Error lines of the server log. */
  serverErrors: string[];
  line: string;
  ok: boolean;
  /** The run directory when kept (failures always keep it). */
  dir: string | null;
}

const DEFAULT_MIX: ActionMix = { send: 0.7, edit: 0.1, delete: 0.03, read: 0.17 };
const WORKER = fileURLToPath(new URL('./lib/device-worker.ts', import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/**
 * A reload waits for the device's current action; with four devices per worker and replicas of
 * a thousand messages and more, a starved worker can take tens of seconds. Only a reload that
 * never ends is an error.
 */
const RELOAD_TIMEOUT_MS = 600_000;

interface Device {
  spec: DeviceSpec;
  worker: Worker;
  proxy: FaultProxy;
  offline: boolean;
  reloading: boolean;
  /** Counts reloads and new-device starts: a probe that spans one compares two replicas. */
  epoch: number;
}

type FaultKind = 'cut' | 'offline' | 'reload' | 'fresh' | 'slow' | 'probe';

/** Mean time between two events of a kind, per device (probe and cut: for the whole system). */
const PER_DEVICE_MEAN_MS: Record<Exclude<FaultKind, 'probe' | 'cut'>, number> = {
  offline: 25_000,
  reload: 45_000,
  fresh: 90_000,
  slow: 30_000,
};
const SYSTEM_MEAN_MS = { cut: 1_500, probe: 2_000 };

export function formatLine(f: ChaosFigures): string {
  const x = f.faults;
  return (
    `chaos seed=${f.seed} clients=${f.clients} users=${f.users} messages=${f.messages} (edits=${f.edits} deletes=${f.deletes} reads=${f.reads}) ` +
    `faults: kill=${x.kill} cut=${x.cut} blackhole=${x.blackhole} refuse=${x.refuse} reload=${x.reload} fresh=${x.fresh} walk-reloads=${x.walkReloads} slow=${x.slow} ` +
    `delayed-chunks=${x.delayedChunks} refused-connections=${x.refusedConnections} probes=${f.probes} | ` +
    `lost=${f.lost} duplicated=${f.duplicated} diverged=${f.diverged} checkpoint=${f.checkpoint} unsettled=${f.unsettled} errors=${f.errors} | ` +
    `workload ${f.workloadS.toFixed(0)}s, quiescence ${f.quiesceS.toFixed(1)}s${f.converged ? '' : ' (NOT converged)'}, total ${f.totalS.toFixed(0)}s`
  );
}

function userIds(seed: number, n: number): string[] {
  const rng = seededRandom(deriveSeed(seed, 'users'));
  const hex8 = () =>
    Math.floor(rng() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return Array.from({ length: n }, () => hex8() + hex8() + hex8());
}

/** Pairs of users that share a conversation: a ring, each user with about `perUser` others. */
function conversationPairs(users: number, perUser: number): [number, number][] {
  const pairs = new Map<string, [number, number]>();
  const reach = Math.max(1, Math.ceil(perUser / 2));
  for (let i = 0; i < users; i++) {
    for (let j = 1; j <= reach; j++) {
      const k = (i + j) % users;
      if (k === i) continue;
      const p: [number, number] = i < k ? [i, k] : [k, i];
      pairs.set(p.join('-'), p);
    }
  }
  return [...pairs.values()];
}

/**
 * One chaos run: a real sync-server process on a SQLite file, one fault proxy per device,
 * devices (the real client data layer on fake IndexedDB) in worker processes, a seeded
 * schedule of faults (cuts, offline periods, slow links, reloads, server kill -9), then
 * quiescence and the end-of-run checks.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  const started = Date.now();
  const mix = options.mix ?? DEFAULT_MIX;
  const dir = mkdtempSync(join(tmpdir(), 'fw-chaos-'));
  const sqlitePath = join(dir, 'store.sqlite');
  const logFile = join(dir, 'server.log');
  const server = new ServerProcess({ sqlitePath, port: await freePort(), logFile });
  const reader = new StoreReader(sqlitePath);
  const devices: Device[] = [];
  const workers: Worker[] = [];
  const faults: FaultCounts = {
    kill: 0,
    cut: 0,
    blackhole: 0,
    refuse: 0,
    reload: 0,
    fresh: 0,
    walkReloads: 0,
    slow: 0,
    delayedChunks: 0,
    refusedConnections: 0,
  };
  const midRun = emptyFindings();
  const midRunSuspects: Suspect[] = [];
  const diagnostics: string[] = [];
  const errors: string[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>, what: string) => {
    const q = p
      .catch((err) => {
        errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => inFlight.delete(q));
    inFlight.add(q);
  };
  const timeline: string[] = [];
  const event = (line: string, d?: Device) => {
    timeline.push(`${new Date().toISOString()} ${line}`);
    if (d) d.worker.call('note', { label: d.spec.label, line: `FAULT ${line}` }).catch(() => undefined);
  };
  let probes = 0;
  let workloadS = 0;
  let quiesceS = 0;
  let converged = false;
  let findings = emptyFindings();
  let dumps: DeviceDump[] = [];
  let serverState: ServerState | null = null;

  try {
    await server.start();
    log(`chaos: seed ${options.seed}, server pid ${server.pid} on ${server.url}, store ${sqlitePath}`);

    // --- users, devices, proxies, workers
    const ids = userIds(options.seed, options.users);
    const names = ids.map((_, i) => `User ${String(i).padStart(2, '0')}`);
    const peers = new Map<number, number[]>();
    for (const [a, b] of conversationPairs(options.users, options.conversationsPerUser)) {
      peers.set(a, [...(peers.get(a) ?? []), b]);
      peers.set(b, [...(peers.get(b) ?? []), a]);
    }
    const sendShare = mix.send / (mix.send + mix.edit + mix.delete + mix.read);
    const meanPauseMs = Math.max(20, (0.8 * options.durationS * 1000 * sendShare) / Math.max(1, options.messagesPerClient));
    const specs: { spec: DeviceSpec; proxy: FaultProxy }[] = [];
    for (let u = 0; u < options.users; u++) {
      const token = jwt.sign({ userId: ids[u], name: names[u] }, CHAOS_JWT_SECRET, {
        algorithm: 'HS256',
        expiresIn: '24h',
        ...OWN_TOKEN_CLAIMS,
      });
      for (let k = 0; k < options.devicesPerUser; k++) {
        const label = `u${String(u).padStart(2, '0')}.d${k}`;
        const proxy = await FaultProxy.start({
          targetPort: server.port,
          random: seededRandom(deriveSeed(options.seed, `proxy ${label}`)),
          delayRandom: seededRandom(deriveSeed(options.seed, `delays ${label}`)),
          maxDelayMs: 0,
        });
        const spec: DeviceSpec = {
          label,
          userId: ids[u]!,
          userName: names[u]!,
          token,
          peers: (peers.get(u) ?? []).map((p) => ({ id: ids[p]!, name: names[p]! })),
          serverUrl: proxy.url,
          seed: deriveSeed(options.seed, `device ${label}`),
          messages: options.messagesPerClient,
          meanPauseMs,
          mix,
        };
        specs.push({ spec, proxy });
      }
    }
    const perWorker = Math.min(4, options.devicesPerWorker ?? 4);
    const groups: (typeof specs)[] = [];
    for (let i = 0; i < specs.length; i += perWorker) groups.push(specs.slice(i, i + perWorker));
    await Promise.all(
      groups.map(async (group, i) => {
        const worker = await startWorker(WORKER, { name: `devices-${i}` });
        workers.push(worker);
        await worker.call('open', { specs: group.map((g) => g.spec) }, 120_000);
        for (const g of group) devices.push({ spec: g.spec, proxy: g.proxy, worker, offline: false, reloading: false, epoch: 0 });
      }),
    );
    devices.sort((a, b) => a.spec.label.localeCompare(b.spec.label));
    log(
      `chaos: ${devices.length} clients (${options.users} users × ${options.devicesPerUser} devices) in ${workers.length} workers, ` +
        `${options.messagesPerClient} messages each, ${options.kills} kills over ${options.durationS}s`,
    );

    // --- the workload and the faults
    const t0 = Date.now();
    await Promise.all(workers.map((w) => w.call('start')));
    const sched = seededRandom(deriveSeed(options.seed, 'schedule'));
    const n = devices.length;
    const rates: [FaultKind, number][] = [
      ['cut', 1 / SYSTEM_MEAN_MS.cut],
      ['probe', 1 / SYSTEM_MEAN_MS.probe],
      ['offline', n / PER_DEVICE_MEAN_MS.offline],
      ['reload', n / PER_DEVICE_MEAN_MS.reload],
      ['fresh', n / PER_DEVICE_MEAN_MS.fresh],
      ['slow', n / PER_DEVICE_MEAN_MS.slow],
    ];
    const totalRate = rates.reduce((s, [, r]) => s + r, 0);
    const durationMs = options.durationS * 1000;
    const killAt = Array.from({ length: options.kills }, (_, k) => ((k + 0.25 + 0.5 * sched()) * durationMs) / options.kills);
    let serverBusy: Promise<void> | null = null;

    const killServer = async (downMs: number) => {
      await server.kill();
      faults.kill++;
      event('server killed');
      log(`chaos: +${((Date.now() - t0) / 1000).toFixed(1)}s server killed (kill -9), down for ${downMs} ms`);
      await sleep(downMs);
      await server.start();
      event('server up');
    };

    const probe = async (d: Device) => {
      const epoch = d.epoch;
      const cps = (await d.worker.call('checkpoints', { label: d.spec.label })) as Checkpoints | null;
      if (!cps) return;
      probes++;
      for (const collection of ['messages', 'conversations'] as const) {
        const cp = cps[collection];
        if (cp === null) continue;
        // Below the history walk's cursor the feed is still arriving: the checkpoint vouches for the rest.
        const walkBefore = cps.walkBefore?.[collection] ?? null;
        const rows = reader.feedUpTo(d.spec.userId, collection, cp).filter((r) => walkBefore === null || r.seq >= walkBefore);
        if (rows.length === 0) continue;
        const seqs = (await d.worker.call('localSeqs', { label: d.spec.label, collection, ids: rows.map((r) => r.docId) })) as Record<
          string,
          number | null
        > | null;
        // A reload in between: the seqs may come from a replica started over since.
        if (!seqs || d.epoch !== epoch || d.reloading) return;
        for (const r of rows) {
          if (seqs[r.docId] === null) midRunSuspects.push({ label: d.spec.label, collection, id: r.docId });
          if (seqs[r.docId] === null)
            midRun.checkpoint.push(`${d.spec.label} ${collection}: checkpoint ${cp} passed ${r.docId}@${r.seq}, which it does not hold`);
        }
      }
    };

    const fire = (kind: FaultKind, d: Device, a: number, b: number, c: number) => {
      switch (kind) {
        case 'cut':
          if (d.proxy.cutOne()) {
            faults.cut++;
            event(`cut ${d.spec.label}`, d);
          }
          return;
        case 'probe':
          if (!d.reloading) track(probe(d), `probe ${d.spec.label}`);
          return;
        case 'slow': {
          if (d.offline) return;
          faults.slow++;
          d.proxy.setMaxDelay(20 + a * 230);
          event(`slow ${d.spec.label} ${Math.round(20 + a * 230)}ms`, d);
          track(
            sleep(2000 + b * 4000).then(() => d.proxy.setMaxDelay(0)),
            'slow',
          );
          return;
        }
        case 'reload': {
          if (d.reloading) return;
          d.reloading = true;
          d.epoch++;
          faults.reload++;
          event(`reload ${d.spec.label}`, d);
          track(
            d.worker
              .call<{ duringWalk: boolean }>('reload', { label: d.spec.label, awayMs: Math.floor(a * 1500) }, RELOAD_TIMEOUT_MS)
              .then(({ duringWalk }) => {
                if (duringWalk) faults.walkReloads++;
              })
              .finally(() => {
                d.reloading = false;
              }),
            `reload ${d.spec.label}`,
          );
          return;
        }
        case 'fresh': {
          if (d.reloading) return;
          d.reloading = true;
          d.epoch++;
          event(`new device ${d.spec.label}`, d);
          track(
            d.worker
              .call<boolean>('startOver', { label: d.spec.label, awayMs: Math.floor(a * 1500) }, RELOAD_TIMEOUT_MS)
              .then(async (fresh) => {
                if (fresh) faults.fresh++;
                else faults.reload++;
                // Half the new devices are reloaded again while their history walk runs.
                if (fresh && b < 0.5) {
                  await sleep(c * 600);
                  d.epoch++;
                  faults.reload++;
                  event(`reload ${d.spec.label} during its history walk`, d);
                  const { duringWalk } = await d.worker.call<{ duringWalk: boolean }>(
                    'reload',
                    { label: d.spec.label, awayMs: 100 },
                    RELOAD_TIMEOUT_MS,
                  );
                  if (duringWalk) faults.walkReloads++;
                }
              })
              .finally(() => {
                d.reloading = false;
              }),
            `new device ${d.spec.label}`,
          );
          return;
        }
        case 'offline': {
          if (d.offline) return;
          d.offline = true;
          const mode = a < 0.6 ? 'blackhole' : 'refuse';
          if (mode === 'blackhole') {
            d.proxy.blackhole();
            faults.blackhole++;
          } else {
            d.proxy.refuse();
            faults.refuse++;
          }
          const awayMs = 1000 + b * 7000;
          event(`offline ${d.spec.label} ${mode} ${Math.round(awayMs)}ms${c < 0.4 && !d.reloading ? ' with reload' : ''}`, d);
          // Some offline periods include a reload: the database closes with unsent writes in it.
          const withReload = c < 0.4 && !d.reloading;
          track(
            (async () => {
              if (withReload) {
                d.reloading = true;
                d.epoch++;
                d.epoch++;
                faults.reload++;
                await sleep(awayMs / 2);
                await d.worker.call('reload', { label: d.spec.label, awayMs: 200 }, RELOAD_TIMEOUT_MS).finally(() => {
                  d.reloading = false;
                });
                await sleep(awayMs / 2);
              } else {
                await sleep(awayMs);
              }
              d.proxy.heal();
              d.offline = false;
              event(`online ${d.spec.label}`, d);
            })(),
            `offline ${d.spec.label}`,
          );
          return;
        }
      }
    };

    let nextAt = 0;
    let killIndex = 0;
    let lastDoneCheck = 0;
    let lastProgress = 0;
    let workloadDone = false;
    const hardStopMs = durationMs * 4 + 300_000;
    for (;;) {
      const elapsed = Date.now() - t0;
      if (elapsed - lastDoneCheck > 1000) {
        lastDoneCheck = elapsed;
        workloadDone = (await Promise.all(workers.map((w) => w.call<boolean>('done')))).every(Boolean);
      }
      if (elapsed - lastProgress >= 60_000) {
        lastProgress = elapsed;
        const f = faults;
        log(
          `chaos: +${(elapsed / 1000).toFixed(0)}s ${reader.messageCount()} messages on the server; ` +
            `faults so far: kill=${f.kill} cut=${f.cut} blackhole=${f.blackhole} refuse=${f.refuse} reload=${f.reload} slow=${f.slow}`,
        );
      }
      if (elapsed >= durationMs && killIndex >= killAt.length && workloadDone) break;
      if (elapsed > hardStopMs) {
        errors.push(`the workload did not finish within ${hardStopMs / 1000}s`);
        break;
      }
      // Kills at fixed times (never two at once); everything else as a seeded Poisson stream.
      if (killIndex < killAt.length && elapsed >= killAt[killIndex]! && !serverBusy) {
        const downMs = 300 + Math.floor(sched() * 2700);
        killIndex++;
        serverBusy = killServer(downMs).finally(() => {
          serverBusy = null;
        });
        track(serverBusy, 'server restart');
      }
      if (elapsed >= nextAt) {
        if (nextAt > 0) {
          const x = sched() * totalRate;
          let kind: FaultKind = 'cut';
          let acc = 0;
          for (const [k, r] of rates) {
            kind = k;
            acc += r;
            if (x < acc) break;
          }
          const d = devices[Math.floor(sched() * n)]!;
          const a = sched();
          const b = sched();
          const c = sched();
          // Faults keep coming while devices finish their quota, but not past the duration by much.
          if (elapsed < durationMs || !workloadDone) fire(kind, d, a, b, c);
        }
        nextAt = elapsed + -Math.log(1 - sched()) / totalRate;
      }
      await sleep(Math.max(5, Math.min(100, nextAt - (Date.now() - t0))));
    }
    workloadS = (Date.now() - t0) / 1000;
    await Promise.all(workers.map((w) => w.call('stop')));
    while (inFlight.size > 0) await Promise.all([...inFlight]);
    log(`chaos: workload done after ${workloadS.toFixed(0)}s; healing everything and waiting for quiescence`);

    // --- quiescence: every path healthy, server up, every device online and equal to the server
    const tq = Date.now();
    for (const d of devices) {
      d.proxy.heal();
      d.proxy.setMaxDelay(0);
    }
    if (!server.running) await server.start();
    await Promise.all(workers.map((w) => w.call('kick')));
    const deadline = tq + (options.quiesceTimeoutS ?? 240) * 1000;
    let stableSince: number | null = null;
    let lastHead = -1;
    let lastReport = 0;
    while (Date.now() < deadline) {
      const snap = reader.snapshot();
      const digests = (await Promise.all(workers.map((w) => w.call<DeviceDigest[]>('digest')))).flat();
      const byId = new Map(snap.messages.map((m) => [m.id, m]));
      const convById = new Map(snap.conversations.map((c) => [c.id, c]));
      const expected = new Map<string, { m: string; c: string }>();
      const lagging: string[] = [];
      for (const d of devices) {
        let want = expected.get(d.spec.userId);
        if (!want) {
          const feed = snap.feeds.get(d.spec.userId) ?? { messages: [], conversations: [] };
          want = {
            m: hashDocs(feed.messages.map((r) => byId.get(r.docId)! as never)),
            c: hashDocs(feed.conversations.map((r) => convById.get(r.docId)! as never)),
          };
          expected.set(d.spec.userId, want);
        }
        const g = digests.find((x) => x.label === d.spec.label)!;
        if (!g.open || !g.connected || g.pending !== 0 || g.messagesHash !== want.m || g.conversationsHash !== want.c) {
          lagging.push(`${g.label}(${g.connected ? 'on' : 'off'},p${g.pending},m${g.messages}/${want.m.split(':')[0]})`);
        }
      }
      if (lagging.length === 0 && snap.head === lastHead) {
        stableSince ??= Date.now();
        if (Date.now() - stableSince >= 1500) {
          converged = true;
          break;
        }
      } else {
        stableSince = null;
      }
      lastHead = snap.head;
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        if (lagging.length > 0)
          log(`chaos: waiting for ${lagging.length} devices: ${lagging.slice(0, 8).join(' ')}${lagging.length > 8 ? ' …' : ''}`);
      }
      await sleep(500);
    }
    quiesceS = (Date.now() - tq) / 1000;
    log(`chaos: ${converged ? 'quiescent' : 'NOT quiescent'} after ${quiesceS.toFixed(1)}s; checking`);

    // --- the verdict
    dumps = (await Promise.all(workers.map((w) => w.call<DeviceDump[]>('dump', undefined, 120_000)))).flat();
    serverState = reader.snapshot();
    const suspects: Suspect[] = [];
    findings = checkRun(serverState, dumps, suspects);
    // What RxDB itself holds for the first few documents that went wrong.
    for (const sp of [...midRunSuspects, ...suspects].slice(0, 10)) {
      const d = devices.find((x) => x.spec.label === sp.label);
      const info = await d?.worker.call('inspect', sp).catch((err) => String(err));
      diagnostics.push(`${sp.label} ${sp.collection} ${sp.id}: ${JSON.stringify(info)}`);
    }
    for (const k of Object.keys(midRun) as (keyof Findings)[]) findings[k].push(...midRun[k]);
    for (const w of workers) errors.push(...(await w.call<string[]>('errors')).map((e) => `${w.name}: ${e}`));
    for (const d of dumps) errors.push(...d.record.errors.map((e) => `${d.label}: ${e}`));
    for (const d of devices) {
      faults.delayedChunks += d.proxy.faults.delayedChunks;
      faults.refusedConnections += d.proxy.faults.refusedConnections;
    }
    const c0 = countFindings(findings);
    if (options.keep || !converged || errors.length > 0 || Object.values(c0).some((v) => v > 0)) {
      await Promise.all(workers.map((w) => w.call('writeLogs', { dir }).catch(() => undefined)));
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(devices.map((d) => d.proxy.close()));
    await server.stop();
  }

  const serverErrors = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => /"level":(50|60)|^fatal/.test(l));
  const c = countFindings(findings);
  const sum = (f: (d: DeviceDump) => number) => dumps.reduce((s, d) => s + f(d), 0);
  const figures: ChaosFigures = {
    seed: options.seed,
    clients: devices.length,
    users: options.users,
    messages: sum((d) => d.record.sent.length),
    edits: sum((d) => Object.values(d.record.edits).reduce((s, l) => s + l.length, 0)),
    deletes: sum((d) => d.record.deletes.length),
    reads: sum((d) => d.record.reads.length),
    serverMessages: serverState?.messages.length ?? 0,
    faults,
    probes,
    ...c,
    errors: errors.length,
    converged,
    workloadS,
    quiesceS,
    totalS: (Date.now() - started) / 1000,
  };
  const ok =
    converged && c.lost === 0 && c.duplicated === 0 && c.diverged === 0 && c.checkpoint === 0 && c.unsettled === 0 && errors.length === 0;
  const keep = options.keep || !ok;
  if (keep) {
    writeFileSync(join(dir, 'events.log'), `${timeline.join('\n')}\n`);
    writeFileSync(join(dir, 'diagnostics.log'), `${diagnostics.join('\n\n')}\n`);
    writeFileSync(join(dir, 'findings.json'), JSON.stringify({ figures, findings, errors, serverErrors }, null, 2));
  }
  if (!keep) rmSync(dir, { recursive: true, force: true });
  return { figures, findings, errors, serverErrors, line: formatLine(figures), ok, dir: keep ? dir : null };
}
