import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const CLIENT_DIR = resolve(import.meta.dirname, '..', '..');
const VITE_BIN = join(CLIENT_DIR, '..', 'node_modules', 'vite', 'bin', 'vite.js');

function run(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [VITE_BIN, ...args], {
      cwd: CLIENT_DIR,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.once('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`vite ${args.join(' ')} failed (${code}):\n${out}`))));
  });
}

/**
 * A production build, as users get it: the service worker only exists there. The API URL is
 * baked in at build time, exactly like a deployment.
 */
export async function buildApp(options: { outDir: string; apiUrl: string; buildId: string }): Promise<void> {
  await run(['build', '--outDir', options.outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    // Vitest sets NODE_ENV=test, which would make Vite produce a development build (React's
    // dev bundle, import.meta.env.DEV true) instead of what users get.
    NODE_ENV: 'production',
    VITE_API_URL: options.apiUrl,
    VITE_APP_BUILD: options.buildId,
  });
}

export interface AppServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** `vite preview` of a build on 127.0.0.1 (a secure context, so the service worker registers). */
export async function serveApp(options: { outDir: string; port: number }): Promise<AppServer> {
  const child: ChildProcess = spawn(
    process.execPath,
    [VITE_BIN, 'preview', '--outDir', options.outDir, '--port', String(options.port), '--strictPort', '--host', '127.0.0.1'],
    { cwd: CLIENT_DIR, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`vite preview exited during start (code ${child.exitCode})`);
    try {
      const res = await fetch(`${url}/manifest.webmanifest`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('vite preview did not start within 30 s');
    }
    await sleep(100);
  }
  return {
    url,
    port: options.port,
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
