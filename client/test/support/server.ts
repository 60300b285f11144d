import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createDiskStorage } from '../../../sync-server/src/files/storage';
import { createLogger } from '../../../sync-server/src/logger';
import { createFileMailer } from '../../../sync-server/src/mail';
import { type RunningServer, startSyncServer } from '../../../sync-server/src/server';
import { SqliteStore } from '../../../sync-server/src/store/sqlite-store';
import { startTestServer, TEST_SECRET } from '../../../sync-server/test/support/test-server';

/**
 * The real sync server (SQLite in a temp dir, port 0), which can be stopped and started again
 * on the same port and file: to a client that is "the server went away" and "it came back",
 * the offline period of these tests.
 */
export interface RestartableServer {
  readonly url: string;
  /** Registration mail (file mailer), across restarts: sync-server/test/support/accounts.ts reads it. */
  readonly mailDir: string;
  readonly current: RunningServer;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startRestartableServer(): Promise<RestartableServer> {
  const first = await startTestServer();
  let current: RunningServer | null = first;
  const { port, sqlitePath, dir, url, mailDir } = first;
  return {
    url,
    mailDir,
    get current() {
      if (!current) throw new Error('the server is stopped');
      return current;
    },
    async stop() {
      const s = current;
      current = null;
      await s?.close();
    },
    async start() {
      if (current) return;
      current = await startSyncServer({
        store: new SqliteStore({ path: sqlitePath }),
        log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
        jwtSecret: TEST_SECRET,
        corsOrigins: ['http://localhost:3000'],
        port,
        host: '127.0.0.1',
        mail: { mailer: createFileMailer(mailDir) },
        // The same file storage as before the stop (test-server.ts): uploads resume across it.
        files: {
          storage: createDiskStorage({ directory: join(dir, 'files'), uploadExpiryMs: 24 * 60 * 60 * 1000 }),
          cleanupIntervalMs: 0,
        },
      });
    },
    async dispose() {
      await current?.close();
      current = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
