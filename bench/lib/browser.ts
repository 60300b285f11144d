/**
 * Real Chromium for the browser figures: Debian's /usr/bin/chromium driven by playwright-core,
 * a persistent profile in a temp dir (on-disk IndexedDB, as users have it), and the bench page
 * (bench/browser, built with vite when its sources changed) served from loopback.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PAGE_DIR = join(ROOT, 'bench', 'browser');
// A page bundling another copy of client/src (BENCH_CLIENT_SRC, vite.config.ts) lives beside it.
const DIST = join(PAGE_DIR, process.env.BENCH_CLIENT_SRC ? 'dist-client-copy' : 'dist');
export const CHROMIUM = process.env.BENCH_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The newest modification time under `path` (0 when it does not exist), skipping build output. */
export function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'dist' || entry === 'dist-client-copy' || entry === 'node_modules') continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/** Builds bench/browser unless dist/ is newer than the page, the client and the schema sources. */
export async function ensureBenchPage(log: (l: string) => void): Promise<void> {
  const built = join(DIST, 'index.html');
  // The runner builds once per run, so every scenario uses the same bundle even while the
  // client sources change underneath.
  if (process.env.BENCH_PAGE_READY && existsSync(built)) return;
  // Everything the page bundles: its own sources, the bench modules it imports, client, schema.
  const sources = [
    PAGE_DIR,
    ...['raw-dexie.ts', 'first-sync.ts', 'stock-replica.ts'].map((f) => join(ROOT, 'bench', 'lib', f)),
    process.env.BENCH_CLIENT_SRC ? resolve(process.env.BENCH_CLIENT_SRC) : join(ROOT, 'client', 'src'),
    join(ROOT, 'shared-schema', 'src'),
  ];
  if (existsSync(built) && statSync(built).mtimeMs > Math.max(...sources.map(newestMtime))) return;
  log('  building the bench page (vite, bench/browser/vite.config.ts)');
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  await new Promise<void>((res, rej) => {
    const child = spawn(process.execPath, [vite, 'build', '--config', join(PAGE_DIR, 'vite.config.ts')], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? res() : rej(new Error(`vite build failed (${code}):\n${out}`))));
  });
}

/** Content types of what the bench's static servers serve (the bench page, the app build). */
export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/** Opens the bench page in a fresh persistent Chromium profile, runs `fn`, then cleans up. */
export async function withBenchPage<T>(log: (l: string) => void, fn: (page: Page) => Promise<T>): Promise<T> {
  await ensureBenchPage(log);
  const http = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const file = resolve(DIST, `.${path === '/' ? '/index.html' : path}`);
    if (!file.startsWith(DIST) || !existsSync(file) || statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const profile = mkdtempSync(join(tmpdir(), 'fw-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(600_000);
    page.on('pageerror', (err) => log(`  [page error] ${err.message}`));
    page.on('console', (m) => {
      if (m.text().startsWith('[bench page]') && process.env.BENCH_VERBOSE) log(`  ${m.text()}`);
    });
    await page.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true);
    return await fn(page);
  } finally {
    await context.close();
    await new Promise<void>((r) => http.close(() => r()));
    http.closeAllConnections();
    rmSync(profile, { recursive: true, force: true });
  }
}

export async function chromiumVersion(): Promise<string> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  try {
    return browser.version();
  } finally {
    await browser.close();
  }
}
