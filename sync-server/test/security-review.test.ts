/**
 * The findings of the security review (issue 14, part 5) that this server fixes, each reproduced
 * against the real server: HTTP and Socket.io on a loopback port, a real SQLite file.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { newConversationDoc } from '@fetchwork/shared-schema';
import { io as ioClient } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/store/sqlite-store';
import { registerAndConfirm } from './support/accounts';
import { draftMessage } from './support/docs';
import { startServerProcess } from './support/server-process';
import {
  api,
  type ClientSocket,
  connect,
  median,
  newUserId,
  push,
  type TestServer,
  tokenFor,
  undoneAfterEach,
  waitFor,
} from './support/test-server';

const { serve, defer } = undoneAfterEach();

const login = (server: TestServer, email: string, password: string) =>
  api(server, 'POST', '/api/auth/login', undefined, { email, password });

describe('sign-in costs the same whether or not the email is registered (no enumeration by timing)', () => {
  it('a wrong password for an existing account and any password for an unknown email take about as long, and answer the same', async () => {
    // 2^14 (the old default): hashing dominates the ~5 ms of an HTTP round trip on any machine,
    // yet the test stays quick. The property holds for any cost.
    const server = await serve({ passwordHashing: { logN: 14, r: 8, p: 1 } });
    // Fewer wrong guesses per email than the lockout allows: a locked email answers before any hashing.
    const perEmail = 8;
    const emails = ['t1@example.com', 't2@example.com', 't3@example.com'];
    for (const email of emails) {
      expect((await registerAndConfirm(server, { email, password: 'correct horse battery', name: 'T' })).status).toBe(201);
    }
    const existing: number[] = [];
    const unknown: number[] = [];
    const answers = new Set<string>();
    const timed = async (email: string, into: number[]) => {
      const started = performance.now();
      const res = await login(server, email, 'wrong password');
      into.push(performance.now() - started);
      answers.add(JSON.stringify(res));
    };
    // Interleaved, so load from other processes on the machine hits both sides alike.
    for (let i = 0; i < perEmail; i++) {
      for (const [k, email] of emails.entries()) {
        await timed(email, existing);
        await timed(`nobody-${i}-${k}-${randomBytes(4).toString('hex')}@example.com`, unknown);
      }
    }
    expect([...answers]).toEqual([
      JSON.stringify({ status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'email or password is wrong' } } }),
    ]);
    const [e, u] = [median(existing), median(unknown)];
    // A generous band: the point is "same work", not a performance target (before the fix the
    // unknown email answered ~10× faster).
    expect(u, `median unknown ${u.toFixed(1)} ms vs existing ${e.toFixed(1)} ms`).toBeGreaterThanOrEqual(0.5 * e);
    expect(u, `median unknown ${u.toFixed(1)} ms vs existing ${e.toFixed(1)} ms`).toBeLessThanOrEqual(2 * e);
  });
});

describe('password hashes: scrypt N=2^17, old hashes upgraded on the next sign-in', () => {
  it('an account stored with the old scrypt default signs in, and afterwards has a new-format hash; wrong passwords still fail', async () => {
    // The production parameters, as startSyncServer uses them when nothing is configured.
    const server = await serve({ passwordHashing: { logN: 17, r: 8, p: 1 } });
    const salt = randomBytes(16);
    // The format before the fix: scrypt$<salt>$<hash>, Node's defaults (N=2^14, r=8, p=1).
    const oldHash = `scrypt$${salt.toString('hex')}$${scryptSync('old password'.normalize('NFKC'), salt, 64).toString('hex')}`;
    const id = newUserId();
    await server.store.upsertUser({ id, name: 'Olga', email: 'olga@example.com', passwordHash: oldHash });
    const storedHash = async () => (await server.store.getUser(id))?.passwordHash;

    expect((await login(server, 'olga@example.com', 'not it')).status).toBe(401);
    expect(await storedHash()).toBe(oldHash);
    const first = await login(server, 'olga@example.com', 'old password');
    expect(first.status).toBe(200);
    expect(first.body.data.user.id).toBe(id);
    const upgraded = await storedHash();
    expect(upgraded).toMatch(/^scrypt\$ln=17,r=8,p=1\$[0-9a-f]{32}\$[0-9a-f]{128}$/);
    // The upgraded hash verifies the same password and no other.
    expect((await login(server, 'olga@example.com', 'not it')).status).toBe(401);
    expect((await login(server, 'olga@example.com', 'old password')).status).toBe(200);
    expect(await storedHash()).toBe(upgraded);
    // New accounts get the new format at once.
    expect((await registerAndConfirm(server, { email: 'nia@example.com', password: 'correct horse battery', name: 'Nia' })).status).toBe(
      201,
    );
    expect((await server.store.getUserByEmail('nia@example.com'))?.passwordHash).toMatch(/^scrypt\$ln=17,r=8,p=1\$/);
    // Five hashes at 2^17 (~0.6 s each on a busy 2-core machine).
  }, 60_000);
});

/** A raw Engine.IO polling handshake (what a browser's first request is), with the given Origin. */
function pollingHandshake(url: string, origin: string | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/socket.io/?EIO=4&transport=polling`, { headers: origin ? { origin } : {} }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A websocket handshake by socket.io-client with the given Origin header (Node clients may set it). */
async function websocketWithOrigin(url: string, token: string, origin: string): Promise<ClientSocket> {
  const socket: ClientSocket = ioClient(url, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: { origin },
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

describe('Socket.io handshakes are checked against CLIENT_ORIGIN on every transport', () => {
  it('refuses Origin https://evil.example; accepts the configured origin and a request without Origin (non-browser clients)', async () => {
    const server = await serve({ corsOrigins: ['http://localhost:3000'] });
    expect(await pollingHandshake(server.url, 'https://evil.example')).toBe(403);
    expect(await pollingHandshake(server.url, 'null')).toBe(403);
    expect(await pollingHandshake(server.url, 'http://localhost:3000')).toBe(200);
    expect(await pollingHandshake(server.url, null)).toBe(200);

    const token = tokenFor(newUserId());
    await expect(websocketWithOrigin(server.url, token, 'https://evil.example')).rejects.toThrow();
    const allowed = await websocketWithOrigin(server.url, token, 'http://localhost:3000');
    expect(allowed.connected).toBe(true);
    allowed.close();
    const noOrigin = await connect(server.url, token);
    expect(noOrigin.connected).toBe(true);
    noOrigin.close();
  });

  it('CLIENT_ORIGIN=* still allows any origin', async () => {
    const server = await serve({ corsOrigins: ['*'] });
    expect(await pollingHandshake(server.url, 'https://evil.example')).toBe(200);
  });
});

describe('CORS preflights', () => {
  it('a configured origin may cache the answer for 10 minutes; another origin gets no allowance', async () => {
    const server = await serve({ corsOrigins: ['http://localhost:3000'] });
    const preflight = (origin: string) =>
      fetch(`${server.url}/api/files/uploads/some-upload`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, upload-offset' },
      });
    const allowed = await preflight('http://localhost:3000');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(allowed.headers.get('access-control-max-age')).toBe('600');
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('/metrics is not public', () => {
  const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
  const get = (server: { url: string }, auth?: string) => fetch(`${server.url}/metrics`, { headers: auth ? { authorization: auth } : {} });

  it('with a token: only `Authorization: Bearer <token>` reads it', async () => {
    const server = await serve({ metricsAccess: { token: METRICS_TOKEN } });
    expect((await get(server)).status).toBe(401);
    expect((await get(server, 'Bearer wrong-token-0123456789abcdef')).status).toBe(401);
    expect((await get(server, `Basic ${METRICS_TOKEN}`)).status).toBe(401);
    // A user's JWT is not the metrics token.
    expect((await get(server, `Bearer ${tokenFor(newUserId())}`)).status).toBe(401);
    const ok = await get(server, `Bearer ${METRICS_TOKEN}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^fetchwork_connected_sockets /m);
  });

  it('switched off: 404 like any unknown route', async () => {
    const server = await serve({ metricsAccess: 'off' });
    const res = await get(server, `Bearer ${METRICS_TOKEN}`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such route' } });
  });

  it('npm run server in production without METRICS_TOKEN: /metrics is off; with it, token-protected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-metrics-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const env = { NODE_ENV: 'production', FILES_DIR: join(dir, 'files') };
    const [off, guarded] = await Promise.all([
      startServerProcess({ ...env, SQLITE_PATH: join(dir, 'off.sqlite') }),
      startServerProcess({ ...env, SQLITE_PATH: join(dir, 'guarded.sqlite'), METRICS_TOKEN }),
    ]);
    defer(
      () => off.stop(),
      () => guarded.stop(),
    );
    expect((await get(off)).status).toBe(404);
    expect((await get(guarded)).status).toBe(401);
    expect((await get(guarded, `Bearer ${METRICS_TOKEN}`)).status).toBe(200);
  });
});

describe('deleted message text leaves the SQLite files', () => {
  it('after a REST delete, the store’s next checkpoint and the next write, neither the database file nor its WAL holds the text', async () => {
    // The store's periodic checkpoint, shortened from 60 s.
    const server = await serve({ store: (path) => new SqliteStore({ path, checkpointIntervalMs: 100 }) });
    const [a, b] = [newUserId(), newUserId()];
    const [ta, tb] = [tokenFor(a), tokenFor(b)];
    const conv = (await api(server, 'POST', '/api/messages/conversations', ta, { participantId: b })).body.data;
    const enc = encodeURIComponent;
    const send = (token: string, content: string) =>
      api(server, 'POST', `/api/messages/conversations/${enc(conv.id)}/messages`, token, { content });
    const marker = `secret-marker-${randomBytes(8).toString('hex')}`;
    const holding = () =>
      [server.sqlitePath, `${server.sqlitePath}-wal`]
        .filter((f) => existsSync(f) && readFileSync(f).includes(marker))
        .map((f) => basename(f));
    for (let i = 0; i < 5; i++) await send(tb, `before ${i}`);
    const sent = await send(ta, `the text is ${marker}`);
    expect(sent.status).toBe(201);
    for (let i = 0; i < 5; i++) await send(tb, `after ${i}`);
    // The test can see the text while it is stored.
    expect(holding()).not.toEqual([]);

    expect((await api(server, 'DELETE', `/api/messages/${enc(sent.body.data.id)}`, ta)).status).toBe(200);
    // The store's next checkpoint, then one more write: the first commit after a checkpoint
    // starts the WAL over. Checkpoints run on their own thread, one at a time, each asked for
    // when the last one is done: the first to finish may have begun before the delete, the
    // second began after.
    const store = server.store as SqliteStore;
    const checkpoints = store.checkpoints;
    await waitFor(() => store.checkpoints > checkpoints + 1, 'two checkpoints');
    await send(tb, 'later');
    expect(holding()).toEqual([]);
    const list = await api(server, 'GET', `/api/messages/conversations/${enc(conv.id)}`, tb);
    expect(list.body.data.length).toBeGreaterThan(11);
    expect(JSON.stringify(list.body.data)).not.toContain(marker);
  });
});

describe('legacy 24-hex conversation ids: a message push does not tell whether the conversation exists', () => {
  it('a non-participant gets the same answer for an existing conversation and a missing one; a participant can still wait for one not created yet', async () => {
    const server = await serve();
    const [a, b, c] = [newUserId(), newUserId(), newUserId()];
    // A FetchWork conversation (ObjectId id), as the MongoDB store holds them.
    const legacyId = randomBytes(12).toString('hex');
    const missingId = randomBytes(12).toString('hex');
    const doc = { ...newConversationDoc({ participants: [a, b], job: null, at: new Date().toISOString() }), id: legacyId };
    await server.store.commit([{ collection: 'conversations', doc, expectedSeq: null, audience: doc.participants }]);

    const sockets: ClientSocket[] = [];
    defer(() => {
      for (const s of sockets) s.close();
    });
    const open = async (id: string) => {
      const s = await connect(server.url, tokenFor(id));
      sockets.push(s);
      return s;
    };
    const [asA, asC] = [await open(a), await open(c)];
    type Rejection = { code: string; message: string };
    const answer = async (socket: ClientSocket, conversation: string, sender: string, recipient: string): Promise<Rejection[]> => {
      const ack = await push(socket, {
        collection: 'messages',
        rows: [{ newDocumentState: draftMessage(conversation, sender, recipient, 'hello') }],
      });
      expect(ack.conflicts).toEqual([]);
      return ack.rejected.map((r: any) => ({
        code: r.code,
        message: String(r.message).replace(conversation, '<id>'),
      }));
    };

    const existing = await answer(asC, legacyId, c, a);
    const missing = await answer(asC, missingId, c, a);
    expect(existing).toEqual(missing);
    // Retryable, as for a participant whose conversation has not reached the server yet.
    expect(missing.map((r) => r.code)).toEqual(['CONVERSATION_NOT_FOUND']);
    // A participant: a missing conversation is waited for, an existing one takes the message.
    expect(await answer(asA, missingId, a, b)).toEqual(missing);
    expect(await answer(asA, legacyId, a, b)).toEqual([]);
  });
});
