/**
 * Child process for the `files` scenario: hosts, side by side on one temp dir (one disk), our
 * sync server with files on disk storage (tus at /api/files/uploads, the real type check, no
 * scanner configured, sharp thumbnails) and the baseline, a minimal node:http server that streams
 * a PUT body to a file. Both in this one process, so the client in the scenario process reaches
 * either over loopback with the same process layout. Started by `startFilesHost()` in
 * scenarios/files.ts.
 */
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FILE_ROUTES } from '@fetchwork/shared-schema';
import { serveRpc } from '../../chaos/lib/ipc';
import type { createDiskStorage as CreateDiskStorage } from '../../sync-server/src/files/storage';
import type { RunningServer, startSyncServer as StartSyncServer } from '../../sync-server/src/server';
import type { SqliteStore as SqliteStoreClass } from '../../sync-server/src/store/sqlite-store';
import { BENCH_SECRET } from './docs';

/** BENCH_SERVER_SRC=<dir>: host that copy of sync-server/src instead (as server-host.ts does). */
const serverSrc = process.env.BENCH_SERVER_SRC
  ? resolve(process.env.BENCH_SERVER_SRC)
  : fileURLToPath(new URL('../../sync-server/src', import.meta.url));
const load = async <T>(...parts: string[]): Promise<T> => (await import(pathToFileURL(join(serverSrc, ...parts)).href)) as T;
const { startSyncServer } = await load<{ startSyncServer: typeof StartSyncServer }>('server.ts');
const { SqliteStore } = await load<{ SqliteStore: typeof SqliteStoreClass }>('store', 'sqlite-store.ts');
const { createDiskStorage } = await load<{ createDiskStorage: typeof CreateDiskStorage }>('files', 'storage', 'index.ts');
const { createLogger } = await load<{ createLogger: (level: string) => any }>('logger.ts');

/** As our server answers preflights (CORS_PREFLIGHT_MAX_AGE_S in sync-server/src/http/app.ts). */
const PREFLIGHT_MAX_AGE_S = 600;

let dir: string | null = null;
let ours: RunningServer | null = null;
let raw: HttpServer | null = null;
/**
 * Server-side timeline of the requests since the last `trace` call (uploads run one at a time):
 * each request from its headers to its answer, and inside a tus request the spans of
 * FileService.authorizeUpload, the tus data store's first getUpload and write of its body, and FileService.finishUpload
 * (type check, scan, thumbnail, record) in the final PATCH.
 */
interface Span {
  start: number;
  end: number;
}
interface Traced extends Span {
  server: 'ours' | 'raw';
  method: string;
  spans: Record<string, Span>;
}
let traced: Traced[] = [];
/** The request in flight by url (one at a time per upload url). */
const current = new Map<string, Traced>();
const now = () => performance.now();

function traceRequests(http: HttpServer, server: Traced['server']): void {
  http.prependListener('request', (req, res) => {
    // Express rewrites req.url while routing: keep the one that arrived.
    const url = req.url ?? '';
    const t: Traced = { server, method: req.method ?? '', start: now(), end: Number.NaN, spans: {} };
    traced.push(t);
    current.set(url, t);
    res.once('finish', () => {
      t.end = now();
      current.delete(url);
    });
  });
}

/** Runs `work` as span `name` of the request in flight for upload `id`. */
async function span<R>(id: string, name: string, work: () => Promise<R>): Promise<R> {
  const t = current.get(`${FILE_ROUTES.uploads}/${id}`);
  const start = now();
  try {
    return await work();
  } finally {
    // The first call counts (the final PATCH reads the upload's info again for its checks).
    if (t && !t.spans[name]) t.spans[name] = { start, end: now() };
  }
}

async function start(): Promise<{ ours: string; raw: string; dir: string }> {
  await stop();
  dir = mkdtempSync(join(tmpdir(), 'fw-bench-files-'));
  mkdirSync(join(dir, 'raw'));
  ours = await startSyncServer({
    store: new SqliteStore({ path: join(dir, 'store.sqlite') }),
    log: createLogger('silent'),
    jwtSecret: BENCH_SECRET,
    corsOrigins: ['*'],
    port: 0,
    host: '127.0.0.1',
    rateLimits: { httpRequestsPerMinute: 1_000_000_000 },
    files: {
      storage: createDiskStorage({ directory: join(dir, 'files'), uploadExpiryMs: 24 * 60 * 60 * 1000 }),
      // The default policy (100 MiB per file, the default types) except the per-user quota:
      // repetitions of a 50 MB upload by one user would reach the default 2 GiB in a full run.
      policy: { quotaBytes: 1024 ** 4 },
      cleanupIntervalMs: 0,
    },
  });
  const files = ours.files!;
  traceRequests(ours.http, 'ours');
  const authorize = files.authorizeUpload.bind(files);
  files.authorizeUpload = (user, id, method) => span(id, 'authorize', () => authorize(user, id, method));
  const finish = files.finishUpload.bind(files);
  files.finishUpload = (id) => span(id, 'finish', () => finish(id));
  const store = files.storage.uploads;
  const write = store.write.bind(store);
  store.write = (stream, id, offset) => span(id, 'write', () => write(stream, id, offset));
  const getUpload = store.getUpload.bind(store);
  store.getUpload = (id) => span(id, 'getUpload', () => getUpload(id));

  // The baseline: stream the body to a file on the same disk, answer 204 when it is written.
  const rawDir = join(dir, 'raw');
  raw = createServer((req, res) => {
    // The browser part of the scenario PUTs from the bench page's origin: CORS as our server answers it.
    res.setHeader('access-control-allow-origin', '*');
    if (req.method === 'OPTIONS') {
      res
        .writeHead(204, {
          'access-control-allow-methods': 'PUT',
          'access-control-allow-headers': 'content-type',
          'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
        })
        .end();
      return;
    }
    const name = /^\/raw\/([\w-]+)$/.exec(req.url ?? '')?.[1];
    if (req.method !== 'PUT' || !name) {
      res.writeHead(404).end();
      return;
    }
    pipeline(req, createWriteStream(join(rawDir, name))).then(
      () => res.writeHead(204).end(),
      (err) => res.writeHead(500).end(String(err)),
    );
  });
  traceRequests(raw, 'raw');
  await new Promise<void>((r) => raw!.listen(0, '127.0.0.1', () => r()));
  return { ours: ours.url, raw: `http://127.0.0.1:${(raw.address() as AddressInfo).port}`, dir };
}

/** Removes what an upload left (the raw file, or the tus upload and its metadata), so the disk does not fill up. */
async function forget(args: { raw?: string; fileId?: string }): Promise<void> {
  if (args.raw && dir) rmSync(join(dir, 'raw', args.raw), { force: true });
  if (args.fileId && ours?.files) await ours.files.storage.delete(args.fileId);
}

async function stop(): Promise<void> {
  if (ours) await ours.close();
  ours = null;
  if (raw) {
    raw.closeAllConnections();
    await new Promise<void>((r) => raw!.close(() => r()));
  }
  raw = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
  traced = [];
  current.clear();
}

serveRpc(
  {
    start,
    stop,
    forget,
    /** The requests answered since the last call, relative to the first one's start. */
    trace: () => {
      const out = traced;
      traced = [];
      const t0 = out[0]?.start ?? 0;
      const rel = (x: Span) => ({ start: x.start - t0, end: x.end - t0 });
      return out.map((t) => ({
        ...rel(t),
        server: t.server,
        method: t.method,
        spans: Object.fromEntries(Object.entries(t.spans).map(([k, v]) => [k, rel(v)])),
      }));
    },
    cpu: () => process.cpuUsage(),
  },
  stop,
);
