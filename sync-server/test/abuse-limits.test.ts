/**
 * Abuse limits hold, and only the abuser is slowed down: a flooding socket gets RATE_LIMITED acks
 * (and its refused events change nothing), a flooding IP gets 429 with Retry-After, a user's 21st
 * socket is refused, frames over maxHttpBufferSize cut only their own connection, batch caps are
 * enforced. Meanwhile another user's push, pull and stream, another IP's REST calls and the
 * flooding user's own other sockets keep working. Low limits come through startTestServer's
 * `rateLimits`; the connection cap is the default (20).
 *
 * Nothing here measures time: a window of the limiter can roll over during a flood, so the tests
 * count outcomes (some refused, some served, nothing lost) instead of asserting exact numbers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIMITS } from '@fetchwork/shared-schema';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { DEFAULT_RATE_LIMITS } from '../src/realtime/rate-limits';
import { startSyncServer } from '../src/server';
import { SqliteStore } from '../src/store/sqlite-store';
import { draftConversation, draftMessage } from './support/docs';
import { storeDigest } from './support/store-digest';
import {
  api,
  type ClientSocket,
  collectStream,
  connect,
  newUserId,
  pull,
  push,
  startTestServer,
  TEST_SECRET,
  type TestServer,
  tokenFor,
  waitFor,
} from './support/test-server';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serverWith(rateLimits: NonNullable<Parameters<typeof startTestServer>[0]>['rateLimits'] = {}) {
  const server = await startTestServer({ rateLimits });
  cleanups.push(() => server.stop());
  return server;
}

async function socketOf(server: TestServer, userId: string): Promise<ClientSocket> {
  const socket = await connect(server.url, tokenFor(userId));
  cleanups.push(() => socket.close());
  return socket;
}

/** Two users in one conversation, each with a socket. */
async function pair(server: TestServer) {
  const p = { id: newUserId() } as { id: string; socket: ClientSocket };
  const q = { id: newUserId() } as { id: string; socket: ClientSocket };
  p.socket = await socketOf(server, p.id);
  q.socket = await socketOf(server, q.id);
  const conv = draftConversation(p.id, q.id);
  expect(await push(p.socket, { collection: 'conversations', rows: [{ newDocumentState: conv }] })).toEqual({ conflicts: [], rejected: [] });
  return { p, q, conversationId: conv.id };
}

const metric = async (server: TestServer, scope: string) =>
  (await server.metrics.rateLimited.get()).values.find((v) => v.labels.scope === scope)?.value ?? 0;

/** An HTTP request from a chosen loopback source address (127.0.0.0/8 is all loopback on Linux). */
function httpFrom(
  server: { port: number },
  localAddress: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        localAddress,
        headers: {
          ...headers,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('per-socket event rate', () => {
  it('a flooding socket gets RATE_LIMITED acks while another user’s push, pull and stream keep working', async () => {
    const server = await serverWith({ socketEventsPerSecond: 10 });
    const flooder = await socketOf(server, newUserId());
    const { p, q, conversationId } = await pair(server);
    const streamed = collectStream(q.socket);

    const flood = Promise.all(
      Array.from({ length: 300 }, () =>
        (flooder.timeout(10_000) as any).emitWithAck('sync:pull', { collection: 'messages', checkpoint: null, batchSize: 1000 }),
      ),
    );
    // The other pair's work runs while the flood is in flight.
    const message = draftMessage(conversationId, p.id, q.id, 'still delivered');
    const victim = (async () => {
      const pushed = await push(p.socket, { collection: 'messages', rows: [{ newDocumentState: message }] });
      await waitFor(() => streamed.length > 0, 'Q to be told about the message');
      const pulled = await pull(q.socket, { collection: 'messages', checkpoint: null, batchSize: 10 });
      const ownPull = await pull(p.socket, { collection: 'messages', checkpoint: null, batchSize: 10 });
      return { pushed, pulled, ownPull };
    })();
    const [answers, { pushed, pulled, ownPull }] = await Promise.all([flood, victim]);

    const limited = answers.filter((a: any) => a.error?.code === 'RATE_LIMITED');
    const served = answers.filter((a: any) => Array.isArray(a.documents));
    expect(limited.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThan(0);
    expect(limited.length + served.length).toBe(answers.length);
    expect(limited[0].error.message).toBeTypeOf('string');
    expect(pushed).toEqual({ conflicts: [], rejected: [] });
    expect(pulled.documents.map((d: any) => d.id)).toEqual([message.id]);
    expect(ownPull.documents.map((d: any) => d.id)).toEqual([message.id]);
    expect(streamed[0].resync === true || streamed[0].documents.some((d: any) => d.id === message.id)).toBe(true);
    expect(await metric(server, 'socket')).toBe(limited.length);
    // The flooder itself is served again once it slows down (RxDB retries a RATE_LIMITED pull).
    await waitFor(async () => !(await pull(flooder, { collection: 'messages', checkpoint: null, batchSize: 1 })).error, 'the flooder to be served again');
  });

  it('a push refused by the rate limit stores nothing: exactly the acknowledged messages exist', async () => {
    const server = await serverWith({ socketEventsPerSecond: 5 });
    const { p, q, conversationId } = await pair(server);
    // A socket of its own, so the burst starts the limiter's window (and fits in it).
    const flooder = await socketOf(server, p.id);
    const messages = Array.from({ length: 120 }, (_, i) => draftMessage(conversationId, p.id, q.id, `flood ${i}`));
    const answers = await Promise.all(
      messages.map((m) => (flooder.timeout(10_000) as any).emitWithAck('sync:push', { collection: 'messages', rows: [{ newDocumentState: m }] })),
    );
    const stored = messages.filter((_, i) => !answers[i].error);
    const refused = messages.filter((_, i) => answers[i].error);
    expect(refused.length).toBeGreaterThan(0);
    for (const i of answers.keys()) {
      if (answers[i].error) expect(answers[i].error.code).toBe('RATE_LIMITED');
      else expect(answers[i]).toEqual({ conflicts: [], rejected: [] });
    }
    await waitFor(async () => !(await pull(q.socket, { collection: 'messages', checkpoint: null, batchSize: 1 })).error, 'Q to be served');
    const all = await pull(q.socket, { collection: 'messages', checkpoint: null, batchSize: 1000 });
    expect(all.documents.map((d: any) => d.id).sort()).toEqual(stored.map((m) => m.id).sort());
  });
});

describe('per-IP HTTP rate', () => {
  it('a flooding IP gets 429 with Retry-After; another IP and the sync socket are unaffected', async () => {
    const limit = 20;
    const server = await serverWith({ httpRequestsPerMinute: limit });
    const flooderToken = tokenFor(newUserId());
    const { p, q, conversationId } = await pair(server);
    const qToken = tokenFor(q.id);

    const answers = await Promise.all(
      Array.from({ length: limit * 3 }, () => httpFrom(server, '127.0.0.1', 'GET', '/api/messages/unread-count', flooderToken)),
    );
    const limited = answers.filter((a) => a.status === 429);
    const served = answers.filter((a) => a.status === 200);
    expect(limited.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThan(0);
    expect(limited.length + served.length).toBe(answers.length);
    for (const a of limited) {
      expect(a.body).toEqual({ error: { code: 'RATE_LIMITED', message: expect.any(String) } });
      expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    // Still refused: the flood used up this IP's window, whoever's token it carries.
    expect((await httpFrom(server, '127.0.0.1', 'GET', '/api/messages/unread-count', qToken)).status).toBe(429);
    // Another IP: served, and its write reaches the sync socket as usual.
    const sent = await httpFrom(server, '127.0.0.2', 'POST', `/api/messages/conversations/${encodeURIComponent(conversationId)}/messages`, qToken, {
      content: 'from another IP',
    });
    expect(sent.status).toBe(201);
    expect((await httpFrom(server, '127.0.0.2', 'GET', '/api/messages/unread-count', tokenFor(p.id))).body).toEqual({ data: { count: 1 } });
    // The Socket.io endpoint is not behind the REST limiter: a socket from the flooding IP works.
    const fresh = await socketOf(server, p.id);
    const pulled = await pull(fresh, { collection: 'messages', checkpoint: null, batchSize: 10 });
    expect(pulled.documents.map((d: any) => d.content)).toEqual(['from another IP']);
    expect(await metric(server, 'http')).toBe(limited.length + 1);
  });

  it('X-Forwarded-For does not buy a fresh budget unless a trusted proxy sets it', async () => {
    const limit = 5;
    const token = tokenFor(newUserId());
    const spoofed = async (server: { port: number }, forwardedFor: (i: number) => string) => {
      const statuses: number[] = [];
      for (let i = 0; i < limit + 3; i++) {
        statuses.push((await httpFrom(server, '127.0.0.3', 'GET', '/api/messages/unread-count', token, undefined, { 'x-forwarded-for': forwardedFor(i) })).status);
      }
      return statuses;
    };
    // Default: the header is ignored, the socket address is the key.
    const direct = await serverWith({ httpRequestsPerMinute: limit });
    expect((await spoofed(direct, (i) => `10.0.0.${i}`)).filter((s) => s === 429).length).toBeGreaterThan(0);

    // Behind a trusted proxy (TRUST_PROXY): each forwarded client has its own budget, and one client
    // is still limited however it is forwarded.
    const dir = mkdtempSync(join(tmpdir(), 'fw-proxy-'));
    const proxied = await startSyncServer({
      store: new SqliteStore({ path: join(dir, 'store.sqlite') }),
      log: createLogger('silent'),
      jwtSecret: TEST_SECRET,
      corsOrigins: ['http://localhost:3000'],
      port: 0,
      host: '127.0.0.1',
      rateLimits: { httpRequestsPerMinute: limit },
      trustProxy: loadConfig({ TRUST_PROXY: 'loopback' }).trustProxy,
    });
    cleanups.push(async () => {
      await proxied.close();
      rmSync(dir, { recursive: true, force: true });
    });
    expect(await spoofed(proxied, (i) => `10.0.1.${i}`)).toEqual(Array(limit + 3).fill(200));
    expect((await spoofed(proxied, () => '10.0.2.1')).filter((s) => s === 429)).toHaveLength(3);
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
  });
});

describe('sockets per user', () => {
  it(`the ${DEFAULT_RATE_LIMITS.socketsPerUser + 1}st socket of a user is refused; others connect; a closed one frees its slot`, async () => {
    const server = await serverWith();
    const cap = DEFAULT_RATE_LIMITS.socketsPerUser;
    const user = newUserId();
    const open: ClientSocket[] = [];
    for (let i = 0; i < cap; i++) open.push(await socketOf(server, user));
    await expect(connect(server.url, tokenFor(user))).rejects.toThrow('too many connections');
    expect(await metric(server, 'connections')).toBe(1);
    // Someone else is not affected, and neither are the user's open sockets.
    const other = await socketOf(server, newUserId());
    expect((await pull(other, { collection: 'messages', checkpoint: null, batchSize: 1 })).error).toBeUndefined();
    expect((await pull(open[cap - 1]!, { collection: 'messages', checkpoint: null, batchSize: 1 })).error).toBeUndefined();
    // Refused handshakes (a bad token) do not count against the cap.
    await expect(connect(server.url, tokenFor(user, { expiresInSeconds: -5 }))).rejects.toThrow('unauthorized');
    open[0]!.close();
    await waitFor(() => server.io.of('/').sockets.size === cap, 'the server to see the socket go');
    open.push(await socketOf(server, user));
    await expect(connect(server.url, tokenFor(user))).rejects.toThrow('too many connections');
  });
});

describe('frame and batch caps', () => {
  it('a frame over maxHttpBufferSize cuts that connection only', async () => {
    const server = await serverWith();
    const { p, q, conversationId } = await pair(server);
    const second = await socketOf(server, p.id);
    const maxFrame = (server.io.engine as unknown as { opts: { maxHttpBufferSize: number } }).opts.maxHttpBufferSize;
    const before = storeDigest(server.sqlitePath);
    const cut = new Promise<string>((resolve) => p.socket.once('disconnect', resolve));
    (p.socket as any).emit('sync:push', { collection: 'messages', rows: [{ newDocumentState: draftMessage(conversationId, p.id, q.id, 'x'.repeat(maxFrame)) }] });
    expect(await cut).toMatch(/^transport (close|error)$/);
    expect(storeDigest(server.sqlitePath)).toBe(before);
    // The same user's other socket and the other user carry on.
    const message = draftMessage(conversationId, p.id, q.id, 'after the cut');
    expect(await push(second, { collection: 'messages', rows: [{ newDocumentState: message }] })).toEqual({ conflicts: [], rejected: [] });
    expect((await pull(q.socket, { collection: 'messages', checkpoint: null, batchSize: 10 })).documents.map((d: any) => d.id)).toEqual([message.id]);
    // A full batch of ordinary messages fits under the frame limit.
    const batch = Array.from({ length: LIMITS.pushMaxRows }, () => ({ newDocumentState: draftMessage(conversationId, p.id, q.id, 'y'.repeat(1000)) }));
    expect(await push(second, { collection: 'messages', rows: batch })).toEqual({ conflicts: [], rejected: [] });
  });

  it('batch caps: push rows, pull size, bulk ids, search limit, REST body size', async () => {
    const server = await serverWith();
    const { p, q, conversationId } = await pair(server);
    const token = tokenFor(p.id);
    const before = storeDigest(server.sqlitePath);
    const rows = Array.from({ length: LIMITS.pushMaxRows + 1 }, () => ({ newDocumentState: draftMessage(conversationId, p.id, q.id, 'z') }));
    expect((await push(p.socket, { collection: 'messages', rows })).error.code).toBe('BATCH_TOO_LARGE');
    expect((await pull(p.socket, { collection: 'messages', checkpoint: null, batchSize: LIMITS.pullMaxBatch + 1 })).error.code).toBe(
      'VALIDATION_FAILED',
    );
    const ids = Array.from({ length: LIMITS.bulkMaxIds + 1 }, () => draftMessage(conversationId, p.id, q.id, '').id);
    expect((await api(server, 'POST', '/api/messages/bulk', token, { action: 'read', messageIds: ids })).body.error.code).toBe('VALIDATION_FAILED');
    expect((await api(server, 'GET', '/api/messages/search?q=a&limit=101', token)).body.error.code).toBe('VALIDATION_FAILED');
    const big = await api(server, 'POST', `/api/messages/conversations/${encodeURIComponent(conversationId)}/messages`, token, {
      content: 'ok',
      pad: 'x'.repeat(300 * 1024),
    });
    expect(big).toEqual({ status: 413, body: { error: { code: 'BATCH_TOO_LARGE', message: expect.any(String) } } });
    expect(storeDigest(server.sqlitePath)).toBe(before);
  });

  it('helmet’s headers are on every answer, and Express does not announce itself', async () => {
    const server = await serverWith();
    for (const path of ['/health', '/api/messages/conversations', '/nope']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('strict-transport-security')).toContain('max-age=');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });
});
