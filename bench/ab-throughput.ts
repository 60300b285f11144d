/**
 * A/B of the server's cost per one-message push, for a change too small to see in two separate
 * runs of the throughput scenario on a shared machine (run-to-run drift here is ±10 %): two
 * server hosts, this tree's sync-server and a copy of another, with one load generator that
 * alternates short closed-loop rounds between them (1-row pushes, one in flight per sender,
 * 100 conversations, a fresh store each round, as scenario 2's first case). Each pair of rounds
 * runs back to back, in alternating order, so both variants see the same machine.
 *
 * Usage: npx tsx bench/ab-throughput.ts <base sync-server/src copy inside the repo> [pairs=6] [seconds=3] [work copy]
 * (the work copy defaults to this tree's sync-server/src; the base copy again makes an A/A run,
 * which shows the method's own spread).
 * A copy: `mkdir -p bench/results/base/node_modules/@fetchwork && git archive REV client shared-schema
 * sync-server tsconfig.base.json | tar -x -C bench/results/base && ln -s ../../shared-schema
 * bench/results/base/node_modules/@fetchwork/shared-schema`, then `bench/results/base/sync-server/src`.
 */
import { resolve } from 'node:path';
import type { Worker } from '../chaos/lib/ipc';
import { num } from './lib/report';
import { median } from './lib/stats';
import { startLoadGen, startServerHost } from './lib/workers';

const [baseSrc, pairsArg, secondsArg, workSrc] = process.argv.slice(2);
if (!baseSrc) throw new Error('usage: npx tsx bench/ab-throughput.ts <base sync-server/src dir> [pairs] [seconds]');
const pairs = Number(pairsArg ?? 6);
const durationMs = Number(secondsArg ?? 3) * 1000;
const warmupMs = 1000;

interface Round {
  cpuUsPerPush: number;
  pushesPerSec: number;
}

async function round(host: Worker, gen: Worker): Promise<Round> {
  const { url } = await host.call<{ url: string }>('start', { kind: 'ours' });
  await gen.call('setup', { kind: 'ours', url, conversations: 100, receipts: false });
  const c0 = await host.call<NodeJS.CpuUsage>('cpu');
  const r = await gen.call<{ storedPerSec: number }>('throughput', { durationMs, warmupMs, inflight: 1, batch: 1 });
  const c1 = await host.call<NodeJS.CpuUsage>('cpu');
  await gen.call('teardown');
  const stored = (r.storedPerSec * (warmupMs + durationMs)) / 1000;
  return { cpuUsPerPush: (c1.user - c0.user + c1.system - c0.system) / stored, pushesPerSec: r.storedPerSec };
}

const [work, base, gen] = await Promise.all([
  startServerHost('ab-work', workSrc ? { BENCH_SERVER_SRC: resolve(workSrc) } : undefined),
  startServerHost('ab-base', { BENCH_SERVER_SRC: resolve(baseSrc) }),
  startLoadGen('ab-load'),
]);
try {
  const results = { work: [] as Round[], base: [] as Round[] };
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? (['base', 'work'] as const) : (['work', 'base'] as const);
    for (const v of order) results[v].push(await round(v === 'work' ? work : base, gen));
    const [b, w] = [results.base[i]!, results.work[i]!];
    console.log(
      `pair ${i + 1}: base ${num(b.cpuUsPerPush, 0)} µs/push (${num(b.pushesPerSec)}/s) · work ${num(w.cpuUsPerPush, 0)} µs/push (${num(w.pushesPerSec)}/s) · work ÷ base ${(w.cpuUsPerPush / b.cpuUsPerPush).toFixed(3)}`,
    );
  }
  const ratios = results.work.map((w, i) => w.cpuUsPerPush / results.base[i]!.cpuUsPerPush);
  console.log(
    `median: base ${num(median(results.base.map((r) => r.cpuUsPerPush)), 0)} µs/push, work ${num(median(results.work.map((r) => r.cpuUsPerPush)), 0)} µs/push; ` +
      `median of paired ratios ${median(ratios).toFixed(3)} (work lower in ${ratios.filter((r) => r < 1).length} of ${ratios.length} pairs)`,
  );
} finally {
  await Promise.all([work.stop(), base.stop(), gen.stop()]);
}
