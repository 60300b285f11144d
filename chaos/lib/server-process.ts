import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../sync-server/src/main.ts', import.meta.url));

export const CHAOS_JWT_SECRET = 'chaos-secret-0123456789abcdef';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
/** A harness that crashes must not leave a server behind: SIGKILL what is still running on exit. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(130));
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface ServerProcessOptions {
  sqlitePath: string;
  /** Fixed across restarts, so the proxies in front keep pointing at it. */
  port: number;
  /** The process's stdout and stderr are appended here. */
  logFile: string;
  synchronous?: 'NORMAL' | 'FULL';
  env?: Record<string, string>;
}

/**
 * A real sync-server process (`node --import tsx sync-server/src/main.ts`, as an operator runs
 * it) on one SQLite file and one port, which can be killed with SIGKILL and started again on the
 * same file and port.
 */
export class ServerProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  kills = 0;
  starts = 0;

  constructor(private readonly options: ServerProcessOptions) {}

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get port(): number {
    return this.options.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (this.child) return;
    const log = openSync(this.options.logFile, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: process.env.CHAOS_SERVER_LOG_LEVEL ?? 'warn',
        JWT_SECRET: CHAOS_JWT_SECRET,
        SEED_DEMO_USERS: 'false',
        PORT: String(this.options.port),
        HOST: '127.0.0.1',
        SQLITE_PATH: this.options.sqlitePath,
        FILES_DIR: join(dirname(this.options.sqlitePath), 'files'),
        SQLITE_SYNCHRONOUS: this.options.synchronous ?? 'NORMAL',
        ...this.options.env,
      },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    installExitHook();
    live.add(child);
    child.once('exit', () => live.delete(child));
    this.child = child;
    this.starts++;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child !== child) throw new Error(`server process exited during start (see ${this.options.logFile})`);
      const ok = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`server process not healthy after ${timeoutMs} ms (see ${this.options.logFile})`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** kill -9: no graceful shutdown, no goodbye to clients, whatever is in flight is cut. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
    this.kills++;
  }

  /** SIGTERM (graceful drain), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }
}
