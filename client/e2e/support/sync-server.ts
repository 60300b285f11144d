import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const E2E_JWT_SECRET = 'e2e-secret-0123456789abcdef';

/**
 * Where the e2e server on `apiUrl` writes its mail (MAIL_TRANSPORT=file): derived from the port,
 * so a test worker finds the confirmation links without being told (registerUser).
 */
export function e2eMailDir(apiUrl: string): string {
  return join(tmpdir(), `fw-e2e-mail-${new URL(apiUrl).port}`);
}

export interface SyncServerProcess {
  url: string;
  port: number;
  sqlitePath: string;
  stop(): Promise<void>;
}

/**
 * The real sync server as `npm start` runs it (tsx src/main.ts), in its own process with its own
 * SQLite file, so the browser talks to exactly what users get and a test can stop it.
 */
export async function startSyncServerProcess(options: {
  port: number;
  clientOrigins: string[];
  sqlitePath?: string;
}): Promise<SyncServerProcess> {
  const dir = options.sqlitePath ? null : mkdtempSync(join(tmpdir(), 'fw-e2e-'));
  const sqlitePath = options.sqlitePath ?? join(dir as string, 'store.sqlite');
  const mailDir = e2eMailDir(`http://127.0.0.1:${options.port}`);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: join(REPO_ROOT, 'sync-server'),
    env: {
      ...process.env,
      NODE_ENV: 'test',
      PORT: String(options.port),
      HOST: '127.0.0.1',
      JWT_SECRET: E2E_JWT_SECRET,
      SQLITE_PATH: sqlitePath,
      // Beside the SQLite file: a restart on the same file finds its uploads again.
      FILES_DIR: join(dirname(sqlitePath), 'files'),
      // The production cost (2^17) takes ~0.6 s per registration here; tests register many users.
      PASSWORD_SCRYPT_LOG_N: '14',
      PUBLIC_URL: `http://127.0.0.1:${options.port}`,
      CLIENT_ORIGIN: options.clientOrigins.join(','),
      LOG_LEVEL: process.env.E2E_SERVER_LOG_LEVEL ?? 'warn',
      SEED_DEMO_USERS: 'true',
      // Registration mail as files: registerUser (browser.ts) reads the confirmation link there.
      MAIL_TRANSPORT: 'file',
      MAIL_DIR: mailDir,
      // Every test registers its own users, all from 127.0.0.1.
      RATE_LIMIT_REGISTRATIONS_PER_IP_PER_HOUR: '100000',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`sync server exited during start (code ${child.exitCode})`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('sync server did not become healthy within 60 s');
    }
    await sleep(100);
  }
  return {
    url,
    port: options.port,
    sqlitePath,
    async stop() {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
      rmSync(mailDir, { recursive: true, force: true });
    },
  };
}
