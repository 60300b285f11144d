import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientToServerEvents, ServerToClientEvents } from '@fetchwork/shared-schema';
import jwt from 'jsonwebtoken';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterEach } from 'vitest';
import { DEFAULT_REGISTRATION_LIMITS } from '../../src/auth/account-service';
import { OWN_TOKEN_CLAIMS } from '../../src/auth/tokens';
import { createDiskStorage } from '../../src/files/storage';
import { createLogger } from '../../src/logger';
import { createFileMailer, type Mailer } from '../../src/mail';
import type { PresenceOptions } from '../../src/realtime/presence';
import type { RateLimitOptions } from '../../src/realtime/rate-limits';
import type { FilesOptions, SyncServerOptions } from '../../src/server';
import { type RunningServer, startSyncServer } from '../../src/server';
import { SqliteStore } from '../../src/store/sqlite-store';
import type { ChangeBus } from '../../src/sync/change-bus';

export const TEST_SECRET = 'test-secret-0123456789abcdef';

/** scrypt at 2^10 (~1 ms): tests register and sign in often; production uses 2^17. */
export const TEST_PASSWORD_HASHING = { logN: 10, r: 8, p: 1 } as const;

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TestServer extends RunningServer {
  dir: string;
  sqlitePath: string;
  /** The file mailer's directory: registration mails as JSON files (support/accounts.ts reads them). */
  mailDir: string;
  /** Stops the server and deletes its SQLite file. */
  stop(): Promise<void>;
}

/** A real sync server on an ephemeral loopback port with a real SQLite file in a temp dir. */
export async function startTestServer(
  options: {
    sqlitePath?: string;
    bus?: ChangeBus;
    presence?: PresenceOptions;
    rateLimits?: Partial<RateLimitOptions>;
    /** A SqliteStore (sub)class on the file, e.g. one that interleaves writes with reads. */
    store?: (path: string) => SqliteStore;
    /** Files options beside the storage (a disk store in the temp dir unless given). */
    files?: Partial<FilesOptions>;
    /**
     * Password hashing cost. Default here: a cheap scrypt (2^10), so the many accounts tests make
     * stay fast; the production default (2^17) is tested where it matters (security-review.test.ts).
     */
    passwordHashing?: SyncServerOptions['passwordHashing'];
    /** Who may read /metrics (default here as in startSyncServer: open). */
    metricsAccess?: SyncServerOptions['metricsAccess'];
    /** Browser origins for CORS and the Socket.io handshake (default http://localhost:3000). */
    corsOrigins?: string[];
    /** Who signs users in (default standalone, as startSyncServer). */
    auth?: SyncServerOptions['auth'];
    /** Grace for renewing an expired socket token (default here 500 ms, so expiry tests are quick). */
    authRenewGraceMs?: number;
    redisUrl?: string;
    /** Web Push (VAPID keys, endpoint policy, queue bounds); default off. */
    notifications?: SyncServerOptions['notifications'];
    /** Registration limits; default here: the production per-email limit, no practical per-IP limit (tests register many users from 127.0.0.1). */
    registrationLimits?: SyncServerOptions['registrationLimits'];
    /** Registration mail transport; default a file mailer writing to `mailDir`; null: no mail, no registration. */
    mailer?: Mailer | null;
    /** Limits on starting conversations (default as in production). */
    conversationLimits?: SyncServerOptions['conversationLimits'];
  } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'fw-sync-'));
  const sqlitePath = options.sqlitePath ?? join(dir, 'store.sqlite');
  const mailDir = join(dir, 'mail');
  const server = await startSyncServer({
    store: options.store ? options.store(sqlitePath) : new SqliteStore({ path: sqlitePath }),
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    jwtSecret: TEST_SECRET,
    corsOrigins: options.corsOrigins ?? ['http://localhost:3000'],
    port: 0,
    host: '127.0.0.1',
    passwordHashing: options.passwordHashing ?? TEST_PASSWORD_HASHING,
    metricsAccess: options.metricsAccess,
    bus: options.bus,
    presence: options.presence,
    rateLimits: options.rateLimits,
    auth: options.auth,
    authRenewGraceMs: options.authRenewGraceMs ?? 500,
    redisUrl: options.redisUrl,
    conversationLimits: options.conversationLimits,
    notifications: options.notifications,
    mail: { mailer: options.mailer === null ? null : (options.mailer ?? createFileMailer(mailDir)), appUrl: 'http://localhost:3000' },
    registrationLimits: options.registrationLimits ?? {
      ...DEFAULT_REGISTRATION_LIMITS,
      perIp: { requests: 100_000, windowSeconds: 3600 },
    },
    files: {
      storage: createDiskStorage({ directory: join(dir, 'files'), uploadExpiryMs: 24 * 60 * 60 * 1000 }),
      cleanupIntervalMs: 0,
      ...options.files,
    },
  });
  return {
    ...server,
    dir,
    sqlitePath,
    mailDir,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;
/** A fresh 24-hex user id (ObjectId-shaped, like FetchWork's). */
export function newUserId(): string {
  counter += 1;
  return (Date.now().toString(16) + counter.toString(16).padStart(6, '0') + Math.random().toString(16).slice(2))
    .slice(0, 24)
    .padEnd(24, '0');
}

/**
 * An access token as a standalone server issues it (its issuer and audience, no session), or with
 * `fetchwork: true` as FetchWork does (neither: for servers in AUTH_MODE=fetchwork).
 */
export function tokenFor(
  userId: string,
  options: { expiresInSeconds?: number; secret?: string; name?: string; claim?: 'userId' | 'id' | 'sub'; fetchwork?: boolean } = {},
): string {
  const claim = options.claim ?? 'userId';
  return jwt.sign({ [claim]: userId, name: options.name ?? `User ${userId.slice(-4)}` }, options.secret ?? TEST_SECRET, {
    algorithm: 'HS256',
    expiresIn: options.expiresInSeconds ?? 3600,
    ...(options.fetchwork ? {} : OWN_TOKEN_CLAIMS),
  });
}

/** Connects a real socket.io-client and waits for the handshake (rejects with the connect_error). */
export async function connect(url: string, token: string | (() => string), extra: { reconnection?: boolean } = {}): Promise<ClientSocket> {
  const socket: ClientSocket = ioClient(url, {
    auth: typeof token === 'function' ? (cb) => cb({ token: token() }) : { token },
    transports: ['websocket'],
    reconnection: extra.reconnection ?? false,
    forceNew: true,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
  return socket;
}

/** `fetch` against the test server with a bearer token. */
export async function api(server: { url: string }, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, body: json as any };
}

/** Waits until `check` returns a truthy value, polling; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `sync:pull` with an ack timeout. */
export function pull(socket: ClientSocket, payload: unknown): Promise<any> {
  return (socket.timeout(5000) as any).emitWithAck('sync:pull', payload);
}

/** `sync:push` with an ack timeout. */
export function push(socket: ClientSocket, payload: unknown): Promise<any> {
  return (socket.timeout(5000) as any).emitWithAck('sync:push', payload);
}

/** Any client event with an ack timeout (`sync:bootstrap`, `sync:history`, `sync:page`, …). */
export function request(socket: ClientSocket, event: string, payload: unknown): Promise<any> {
  return (socket.timeout(5000) as any).emitWithAck(event, payload);
}

/** Collects `sync:stream` events of a socket. */
export function collectStream(socket: ClientSocket): any[] {
  const events: any[] = [];
  socket.on('sync:stream', (e) => events.push(e));
  return events;
}

/**
 * Work undone after each test of the file that calls this, last first: `serve` starts a test
 * server stopped that way, `defer` adds anything else.
 */
export function undoneAfterEach(): {
  serve(options?: Parameters<typeof startTestServer>[0]): Promise<TestServer>;
  defer(...undo: (() => unknown)[]): void;
} {
  const undos: (() => unknown)[] = [];
  afterEach(async () => {
    for (const undo of undos.splice(0).reverse()) await undo();
  });
  return {
    async serve(options = {}) {
      const server = await startTestServer(options);
      undos.push(() => server.stop());
      return server;
    },
    defer(...undo) {
      undos.push(...undo);
    },
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
