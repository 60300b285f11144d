/**
 * FetchWork Messaging benchmarks: `npm run bench` (full; screen-to-screen alone takes ≈ 6 min and
 * the 100k initial sync ≈ 3 min, and each run prints every scenario's time) or `npm run bench --
 * --quick`. Every figure is reported next to a baseline measured in the same run, as a ratio.
 *
 * Options: --quick | --smoke (tiny, for the test suite) · --only=latency,throughput,...
 *          --results-dir=<dir> (default bench/results) · --no-browser (skip Chromium parts)
 * Env:     BENCH_SERVER_PROF=<dir> CPU-profiles every server host; BENCH_BROWSER_PROF=<dir>
 *          CPU-profiles the page during browser initial syncs, and Alice's and Bob's pages in an
 *          extra short phase of screen-to-screen (summarised by source in <dir>).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBenchPage } from './lib/browser';
import { startWorker } from '../chaos/lib/ipc';
import { machineInfo, machineLine } from './lib/machine';
import { type Mode, markdownTable, type Row, type RunResult, type ScenarioResult } from './lib/report';
import { peerRows } from './scenarios/peer';

export const SCENARIOS = ['latency', 'throughput', 'initial-sync', 'catch-up', 'connections', 'peer', 'screen-to-screen', 'files'] as const;

interface Options {
  mode: Mode;
  only: string[];
  resultsDir: string;
  noBrowser: boolean;
  argv: string[];
}

function parseArgs(argv: string[]): Options {
  const value = (name: string) =>
    argv
      .find((a) => a.startsWith(`--${name}=`))
      ?.split('=')
      .slice(1)
      .join('=');
  const mode: Mode = argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full';
  const only = value('only')?.split(',').filter(Boolean) ?? [...SCENARIOS];
  for (const o of only)
    if (!(SCENARIOS as readonly string[]).includes(o)) throw new Error(`unknown scenario ${o}; one of ${SCENARIOS.join(', ')}`);
  const here = fileURLToPath(new URL('.', import.meta.url));
  return { mode, only, resultsDir: resolve(value('results-dir') ?? join(here, 'results')), noBrowser: argv.includes('--no-browser'), argv };
}

function chromiumLine(): string {
  return process.env.BENCH_CHROMIUM ?? '/usr/bin/chromium';
}

export function renderMarkdown(run: RunResult): string {
  const main = run.rows.filter((r) => !r.detail);
  const detail = run.rows.filter((r) => r.detail);
  const notes = run.scenarios.flatMap((s) => s.notes.map((n) => `- ${s.scenario}: ${n}`));
  const missed = main.filter((r) => r.met === false).map((r) => `- ${r.figure}`);
  const lines = [
    '# FetchWork Messaging — benchmark results',
    '',
    `- Command: \`${run.command}\` (${run.mode} mode), ${run.startedAt}, took ${(run.durationMs / 1000).toFixed(0)} s`,
    `- Machine: ${machineLine(run.machine)}`,
    `- Load average at the end: ${run.machineAfter.loadavg.join(' / ')}; browser: ${chromiumLine()} (headless, persistent profile)`,
    '- Ratio = ours ÷ baseline of the figure in the row (times: lower is better; rates: higher is better). Latency cells are p50 / p95 / p99.',
    '',
    '## Results',
    '',
    markdownTable(main),
    '',
    '## Details and diagnostics',
    '',
    markdownTable(detail),
    '',
  ];
  lines.push(
    '## Scenario timings and machine load',
    '',
    '| scenario | took | 1-min load average at start → end |',
    '| --- | --- | --- |',
    ...run.scenarios.map(
      (s) => `| ${s.scenario} | ${(s.durationMs / 1000).toFixed(0)} s | ${s.load ? `${s.load.start} → ${s.load.end}` : 'n/a'} |`,
    ),
    '',
  );
  if (missed.length) lines.push('## Targets missed', '', ...missed, '');
  if (run.errors.length) lines.push('## Errors', '', ...run.errors.map((e) => `- ${e.scenario}: ${e.error.split('\n')[0]}`), '');
  if (notes.length) lines.push('## Notes', '', ...notes, '');
  return lines.join('\n');
}

export async function main(argv = process.argv.slice(2)): Promise<RunResult> {
  const opts = parseArgs(argv);
  if (opts.noBrowser) process.env.BENCH_NO_BROWSER = '1';
  const t0 = performance.now();
  const machine = machineInfo();
  const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  console.log(`FetchWork bench (${opts.mode}): ${opts.only.join(', ')}`);
  console.log(`machine: ${machineLine(machine)}`);
  const scenarios: ScenarioResult[] = [];
  const errors: RunResult['errors'] = [];
  if (!opts.noBrowser && opts.only.some((s) => s === 'initial-sync' || s === 'peer' || s === 'files')) {
    try {
      await ensureBenchPage((l) => console.log(`[browser]${l}`));
      process.env.BENCH_PAGE_READY = '1';
    } catch (err) {
      console.log(`[browser] page build failed, browser parts will retry: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  for (const name of opts.only) {
    const s0 = performance.now();
    console.log(`[${name}] starting`);
    const worker = await startWorker(fileURLToPath(new URL('./lib/scenario-worker.ts', import.meta.url)), { name: `scenario ${name}` });
    try {
      const loadStart = loadavg()[0]!;
      const result = await worker.call<ScenarioResult>('run', { name, mode: opts.mode }, 14 * 60_000);
      result.load = { start: Number(loadStart.toFixed(2)), end: Number(loadavg()[0]!.toFixed(2)) };
      scenarios.push(result);
      console.log(`[${name}] done in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
    } catch (err) {
      errors.push({ scenario: name, error: (err as Error).message });
      console.log(`[${name}] FAILED: ${(err as Error).message}`);
    } finally {
      await worker.stop();
    }
  }
  const by = (n: string) => scenarios.find((s) => s.scenario === n);
  const rows: Row[] = [
    ...scenarios.filter((s) => s.scenario !== 'peer').flatMap((s) => s.rows),
    ...peerRows(by('peer'), by('initial-sync')),
  ];
  const run: RunResult = {
    mode: opts.mode,
    command,
    machine,
    machineAfter: machineInfo(),
    startedAt: machine.at,
    durationMs: performance.now() - t0,
    scenarios,
    rows,
    errors,
  };
  mkdirSync(opts.resultsDir, { recursive: true });
  const stamp = machine.at.replace(/[:.]/g, '-');
  const json = JSON.stringify(run, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
  writeFileSync(join(opts.resultsDir, `${stamp}-${opts.mode}.json`), json);
  writeFileSync(join(opts.resultsDir, 'latest.json'), json);
  const md = renderMarkdown(run);
  writeFileSync(join(opts.resultsDir, 'latest.md'), md);
  console.log(`\n${md}`);
  console.log(`results: ${join(opts.resultsDir, 'latest.md')}, ${join(opts.resultsDir, `${stamp}-${opts.mode}.json`)}`);
  return run;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main()
    .then((run) => {
      process.exitCode = run.errors.length > 0 ? 1 : 0;
    })
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
