#!/usr/bin/env node
// `npm start`: the sync server on :10000 and the installable app on :3000, with demo users.
// The app is a production build served by `vite preview`, because the service worker (offline
// start, install, update prompt) only exists in a build; `npm run dev -w client` is the
// hot-reloading alternative without it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const apiPort = process.env.PORT ?? '10000';
const appPort = process.env.APP_PORT ?? '3000';

/**
 * Without JWT_SECRET the server picks a random one per process, which signs everybody out on
 * every restart. Locally, keep one in the gitignored data folder instead; production sets it.
 */
function localJwtSecret() {
  const file = join(root, 'sync-server', 'data', 'dev-jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

const children = new Set();
let stopping = false;

function run(name, args, env = {}) {
  // Own process group: npm does not always pass a signal on to what it started (vite preview
  // outlived it), so the whole group is signalled on stop.
  const child = spawn(npm, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env }, detached: process.platform !== 'win32' });
  children.add(child);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!stopping && name !== 'build') {
      console.error(`[start] ${name} stopped (${signal ?? `exit ${code}`}); stopping the rest`);
      stop(code ?? 1);
    }
  });
  return child;
}

function signal(child, sig) {
  try {
    if (process.platform === 'win32') child.kill(sig);
    else process.kill(-child.pid, sig);
  } catch {
    // already gone
  }
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) signal(child, 'SIGTERM');
  const force = setTimeout(() => {
    for (const child of children) signal(child, 'SIGKILL');
    process.exit(code);
  }, 5000);
  force.unref();
  const check = setInterval(() => {
    if (children.size === 0) {
      clearInterval(check);
      process.exit(code);
    }
  }, 100);
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

const apiUrl = process.env.VITE_API_URL ?? `http://localhost:${apiPort}`;

run('server', ['run', 'start', '-w', 'sync-server'], {
  PORT: apiPort,
  JWT_SECRET: process.env.JWT_SECRET ?? localJwtSecret(),
  CLIENT_ORIGIN: process.env.CLIENT_ORIGIN ?? `http://localhost:${appPort},http://127.0.0.1:${appPort}`,
  // The demo accounts the README and the sign-in screen show; only here, never by NODE_ENV alone.
  SEED_DEMO_USERS: process.env.SEED_DEMO_USERS ?? 'true',
  AUTH_MODE: process.env.AUTH_MODE ?? 'standalone',
});

const build = run('build', ['run', 'build', '-w', 'client'], { VITE_API_URL: apiUrl, NODE_ENV: 'production' });
build.on('exit', (code) => {
  if (stopping) return;
  if (code !== 0) {
    console.error('[start] the client build failed');
    stop(code ?? 1);
    return;
  }
  run('app', ['run', 'preview', '-w', 'client', '--', '--port', appPort, '--strictPort']);
  console.log(`\n[start] FetchWork Messaging: app http://localhost:${appPort}  ·  API ${apiUrl}`);
  console.log('[start] demo users: alice@fetchwork.dev, bob@fetchwork.dev, carol@fetchwork.dev (password fetchwork-demo)\n');
});
