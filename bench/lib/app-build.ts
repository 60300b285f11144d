/**
 * The real app for browser scenarios: a production build of client/ (what users get, service
 * worker included), as client/e2e/support/app-server.ts builds it, served from loopback.
 *
 * The API URL is baked in at build time. The bench's servers listen on port 0, so the build
 * bakes a placeholder and the static server below writes the real URL into the files it
 * serves: one build serves every run (rebuilt only when client or schema sources are newer).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTENT_TYPES, newestMtime } from './browser';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/**
 * BENCH_APP_SRC=<dir>: build that copy of client/ instead (an A/B of a client change; the copy
 * must live inside the repo so packages resolve, e.g. `git archive HEAD client | tar -x -C
 * bench/results/head`). Pair it with BENCH_SERVER_SRC for the server.
 */
const CLIENT = process.env.BENCH_APP_SRC ? resolve(process.env.BENCH_APP_SRC) : join(ROOT, 'client');
/** Gitignored (every `dist/` is). */
const OUT = process.env.BENCH_APP_SRC ? join(CLIENT, 'dist', 'bench-app') : join(ROOT, 'bench', 'app-build', 'dist');
export const API_PLACEHOLDER = 'http://fw-bench-api.invalid:1';

/** Builds the app (vite, client/vite.config.ts) unless the last build is newer than its sources. */
export async function ensureAppBuild(log: (l: string) => void): Promise<string> {
  const built = join(OUT, 'index.html');
  const sources = [
    join(CLIENT, 'src'),
    join(CLIENT, 'public'),
    join(CLIENT, 'index.html'),
    join(CLIENT, 'vite.config.ts'),
    join(ROOT, 'shared-schema', 'src'),
  ];
  if (existsSync(built) && statSync(built).mtimeMs > Math.max(...sources.map(newestMtime))) return OUT;
  log(`  building the app (vite build of ${CLIENT}, production, as the e2e suite does)`);
  const t0 = performance.now();
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  await new Promise<void>((res, rej) => {
    const child = spawn(process.execPath, [vite, 'build', '--outDir', OUT, '--emptyOutDir', '--minify', 'false', '--logLevel', 'warn'], {
      cwd: CLIENT,
      env: { ...process.env, NODE_ENV: 'production', VITE_API_URL: API_PLACEHOLDER, VITE_APP_BUILD: 'bench' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? res() : rej(new Error(`app build failed (${code}):\n${out}`))));
  });
  log(`  app built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return OUT;
}

export interface ServedApp {
  url: string;
  close(): Promise<void>;
}

/** Serves the build on 127.0.0.1 (a secure context) with `apiUrl` in place of the placeholder. */
export async function serveAppBuild(dir: string, apiUrl: string): Promise<ServedApp> {
  const cache = new Map<string, Buffer>();
  const load = (file: string): Buffer => {
    let body = cache.get(file);
    if (!body) {
      body = readFileSync(file);
      if (['.js', '.html'].includes(extname(file))) body = Buffer.from(body.toString('utf8').replaceAll(API_PLACEHOLDER, apiUrl));
      cache.set(file, body);
    }
    return body;
  };
  const http: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    let file = resolve(dir, `.${path}`);
    // SPA fallback, as `vite preview` does for routes.
    if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) file = join(dir, 'index.html');
    res
      .writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' })
      .end(load(file));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    async close() {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
