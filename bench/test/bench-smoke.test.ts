import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, test } from 'vitest';

/**
 * Does the bench run? A tiny version of two scenarios through the real runner (its own
 * processes, real servers), into a temp results dir. No timing is asserted: only that every
 * ratio is a finite number and the result files exist.
 */
const ROOT = resolve(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'fw-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('bench --smoke: latency and throughput produce finite ratios and result files', { timeout: 240_000 }, () => {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', '--smoke', '--only=latency,throughput', `--results-dir=${dir}`],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 230_000,
      env: { ...process.env, NODE_ENV: 'production' },
    },
  );
  expect(run.status, `bench exited with ${run.status}:\n${run.stdout}\n${run.stderr}`).toBe(0);

  const files = readdirSync(dir);
  expect(files).toContain('latest.md');
  expect(files).toContain('latest.json');
  expect(files.some((f) => /-smoke\.json$/.test(f))).toBe(true);

  const result = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8'));
  expect(result.errors).toEqual([]);
  expect(result.scenarios.map((s: { scenario: string }) => s.scenario)).toEqual(['latency', 'throughput']);
  const rows = result.rows as { figure: string; ratio: unknown }[];
  expect(rows.length).toBeGreaterThanOrEqual(4);
  // The by-part row exists only when probes of ours were stamped at every part of their way.
  expect(rows.some((r) => r.figure.startsWith('Delivery A→B replica, ours @ 40 msg/s, by part'))).toBe(true);
  for (const row of rows) {
    expect(typeof row.ratio, row.figure).toBe('number');
    expect(Number.isFinite(row.ratio), row.figure).toBe(true);
  }
  const md = readFileSync(join(dir, 'latest.md'), 'utf8');
  expect(md).toContain('| figure | ours | baseline |');
  expect(md).toMatch(/cores, Node v\d+/);
});

const CHROMIUM = process.env.BENCH_CHROMIUM ?? '/usr/bin/chromium';

test('bench --smoke: files (tus vs raw PUT, image vs text message) produces finite ratios', { timeout: 120_000 }, () => {
  const out = join(dir, 'files');
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--only=files', `--results-dir=${out}`], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 110_000,
    env: { ...process.env, NODE_ENV: 'production' },
  });
  expect(run.status, `bench exited with ${run.status}:\n${run.stdout}\n${run.stderr}`).toBe(0);
  const result = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
  expect(result.errors).toEqual([]);
  const scenario = result.scenarios.find((s: { scenario: string }) => s.scenario === 'files');
  const kinds = (scenario.details.uploads as { kind: string }[]).map((u) => u.kind);
  expect(kinds.filter((k) => k === 'raw').length).toBe(kinds.filter((k) => k === 'tus').length);
  const rows = (result.rows as { scenario: string; figure: string; ratio: unknown; detail?: boolean }[]).filter(
    (r) => r.scenario === 'files',
  );
  // Node upload, image vs text message, and with a browser the upload from Chromium.
  const browser = existsSync(CHROMIUM);
  expect(rows.filter((r) => !r.detail)).toHaveLength(browser ? 3 : 2);
  if (browser) {
    const uploads = scenario.details.browserUploads as { raw: number[]; tus: number[] };
    expect(uploads.tus.length).toBeGreaterThan(0);
    expect(uploads.raw.length).toBe(uploads.tus.length);
  }
  for (const row of rows) expect(Number.isFinite(row.ratio), row.figure).toBe(true);
});

test.skipIf(!existsSync(CHROMIUM))(
  'bench --smoke: screen to screen in two Chromium profiles measures every message and writes its rows',
  { timeout: 360_000 },
  () => {
    const out = join(dir, 'screen');
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--smoke', '--only=screen-to-screen', `--results-dir=${out}`],
      { cwd: ROOT, encoding: 'utf8', timeout: 350_000, env: { ...process.env, NODE_ENV: 'production' } },
    );
    expect(run.status, `bench exited with ${run.status}:\n${run.stdout}\n${run.stderr}`).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(result.errors).toEqual([]);
    const scenario = result.scenarios.find((s: { scenario: string }) => s.scenario === 'screen-to-screen');
    const phases = scenario.details.phases as { system: string; loaded: boolean; n: number; missing: number; screen: { n: number } }[];
    expect(phases.map((p) => `${p.system}${p.loaded ? '+load' : ''}`)).toEqual(['ours', 'relay', 'ours+load', 'relay+load']);
    for (const p of phases) {
      expect(p.missing, `${p.system} loaded=${p.loaded}`).toBe(0);
      expect(p.screen.n).toBe(p.n);
    }
    const rows = (result.rows as { scenario: string; figure: string; ratio: unknown; detail?: boolean }[]).filter(
      (r) => r.scenario === 'screen-to-screen' && !r.detail,
    );
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(Number.isFinite(row.ratio), row.figure).toBe(true);
  },
);
