import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTH_REQUEST_HEADER, AUTH_ROUTES, type SessionResponse } from '@fetchwork/shared-schema';
import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, it } from 'vitest';
import { OWN_TOKEN_CLAIMS } from '../src/auth/tokens';
import { type AuthAnswer, postAuth, registerAndConfirm } from './support/accounts';
import { redisAvailable, TEST_REDIS_URL } from './support/redis';
import {
  type ClientSocket,
  connect,
  newUserId,
  pull,
  startTestServer,
  TEST_SECRET,
  type TestServer,
  tokenFor,
  waitFor,
} from './support/test-server';

const servers: TestServer[] = [];
const sockets: ClientSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function server(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const s = await startTestServer(options);
  servers.push(s);
  return s;
}

/** A browser-like call of an auth route: JSON, the auth header, and a cookie if given. */
function call(
  s: { url: string },
  path: string,
  init: { body?: unknown; cookie?: string | null; bearer?: string; header?: boolean } = {},
): Promise<AuthAnswer> {
  return postAuth(s.url, path, init.body ?? {}, {
    ...(init.header === false ? {} : { [AUTH_REQUEST_HEADER]: '1' }),
    ...(init.cookie ? { cookie: `fw_refresh=${init.cookie}` } : {}),
    ...(init.bearer ? { authorization: `Bearer ${init.bearer}` } : {}),
  });
}

const cookieValue = (setCookie: string | null) => /^fw_refresh=([^;]*)/.exec(setCookie ?? '')?.[1] ?? null;

interface Device {
  token: string;
  deviceKey: string;
  cookie: string;
  user: SessionResponse['user'];
}

let emails = 0;
async function signUp(s: TestServer, keepSignedIn = false): Promise<Device & { email: string }> {
  const email = `user${++emails}-${Date.now()}@example.com`;
  const res = await registerAndConfirm(s, { email, password: 'correct horse', name: 'Sam Session', keepSignedIn });
  expect(res.status).toBe(201);
  return { email, token: res.token, deviceKey: res.deviceKey, cookie: res.cookie!, user: res.user };
}

async function signIn(s: TestServer, email: string): Promise<Device> {
  const res = await call(s, AUTH_ROUTES.login, { body: { email, password: 'correct horse' }, header: false });
  expect(res.status).toBe(200);
  return { token: res.body.data.token, deviceKey: res.body.data.deviceKey, cookie: cookieValue(res.setCookie)!, user: res.body.data.user };
}

const refresh = (s: TestServer, d: { cookie: string; deviceKey: string }) =>
  call(s, AUTH_ROUTES.refresh, { cookie: d.cookie, body: { deviceKey: d.deviceKey } });

async function open(s: { url: string }, token: string): Promise<ClientSocket> {
  const socket = await connect(s.url, token);
  sockets.push(socket);
  return socket;
}

const revokedNotice = (socket: ClientSocket) =>
  new Promise<string[]>((resolve) => {
    const seen: string[] = [];
    socket.once('auth:revoked', () => seen.push('revoked'));
    socket.once('disconnect', (reason) => resolve([...seen, reason]));
  });

describe('sign-in issues a short access token and an httpOnly refresh cookie', () => {
  it('the token is short-lived, carries this server’s issuer, audience and session; the cookie is httpOnly, Secure, SameSite, scoped to /api/auth', async () => {
    const s = await server();
    const res = await registerAndConfirm(s, { email: `c${Date.now()}@example.com`, password: 'correct horse', name: 'Cat' });
    expect(res.status).toBe(201);
    const claims = jwt.verify(res.body.data.token, TEST_SECRET, { ...OWN_TOKEN_CLAIMS }) as jwt.JwtPayload;
    expect(claims.exp! - claims.iat!).toBe(15 * 60);
    expect(claims.sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(res.body.data.expiresAt).toBe(claims.exp! * 1000);
    expect(res.body.data.deviceKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = res.setCookie!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\/api\/auth/);
    // Not "keep me signed in": a session cookie (no expiry), gone with the browser session.
    expect(cookie).not.toMatch(/Max-Age|Expires/);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('"keep me signed in" makes the cookie persistent', async () => {
    const s = await server();
    const email = `k${Date.now()}@example.com`;
    const res = await registerAndConfirm(s, { email, password: 'correct horse', name: 'Kit', keepSignedIn: true });
    expect(res.setCookie).toMatch(/Max-Age=\d+/);
  });
});

describe('refresh rotates the credential; reuse ends the family', () => {
  it('a refresh gives a new access token for the same session and a new cookie; the newest cookie keeps working', async () => {
    const s = await server();
    const d = await signUp(s);
    const first = await refresh(s, d);
    expect(first.status).toBe(200);
    const next = cookieValue(first.setCookie)!;
    expect(next).not.toBe(d.cookie);
    const sid = (t: string) => (jwt.decode(t) as jwt.JwtPayload).sid;
    expect(sid(first.body.data.token)).toBe(sid(d.token));
    expect(first.body.data.user).toEqual(d.user);
    expect(first.body.data.deviceKey).toBeUndefined();
    const second = await refresh(s, { cookie: next, deviceKey: d.deviceKey });
    expect(second.status).toBe(200);
    expect((await open(s, second.body.data.token)).connected).toBe(true);
  });

  it('an already rotated credential used again ends the session: the thief and the owner both have to sign in again', async () => {
    const s = await server({ auth: { mode: 'standalone', lifetimes: { rotationLeewayMs: 0 } } });
    const d = await signUp(s);
    const owner = await refresh(s, d);
    const ownerCookie = cookieValue(owner.setCookie)!;
    const ownerSocket = await open(s, owner.body.data.token);
    const cut = revokedNotice(ownerSocket);
    // The stolen, older credential:
    const thief = await refresh(s, d);
    expect(thief.status).toBe(401);
    expect(thief.body.error.code).toBe('SESSION_REVOKED');
    expect(thief.setCookie).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(await cut).toEqual(['revoked', 'io server disconnect']);
    const after = await refresh(s, { cookie: ownerCookie, deviceKey: d.deviceKey });
    expect(after.body.error.code).toBe('SESSION_REVOKED');
    await expect(connect(s.url, owner.body.data.token)).rejects.toThrow('unauthorized');
  });

  it('two tabs refreshing with the same credential at once both get a token (leeway), and the session goes on', async () => {
    const s = await server();
    const d = await signUp(s);
    const [a, b] = await Promise.all([refresh(s, d), refresh(s, d)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const last = await refresh(s, { cookie: cookieValue(b.setCookie)!, deviceKey: d.deviceKey });
    expect(last.status).toBe(200);
  });

  it('the cookie alone refreshes nothing: without the page’s device key, or without the auth header, it is refused and the session is untouched', async () => {
    const s = await server();
    const d = await signUp(s);
    const noHeader = await call(s, AUTH_ROUTES.refresh, { cookie: d.cookie, body: { deviceKey: d.deviceKey }, header: false });
    expect(noHeader.status).toBe(403);
    expect(noHeader.body.error.code).toBe('FORBIDDEN');
    const wrongKey = await refresh(s, { cookie: d.cookie, deviceKey: 'A'.repeat(43) });
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.body.error.code).toBe('UNAUTHORIZED');
    const noKey = await call(s, AUTH_ROUTES.refresh, { cookie: d.cookie, body: {} });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error.code).toBe('VALIDATION_FAILED');
    const noCookie = await call(s, AUTH_ROUTES.refresh, { body: { deviceKey: d.deviceKey } });
    expect(noCookie.status).toBe(401);
    expect((await refresh(s, d)).status).toBe(200);
  });
});

describe('sign-out ends the session server-side', () => {
  it('logout: the cookie and the HTTP cache are cleared, refresh fails, the access token is refused on REST and the socket, open sockets are cut', async () => {
    const s = await server();
    const d = await signUp(s);
    const socket = await open(s, d.token);
    const cut = revokedNotice(socket);
    const out = await call(s, AUTH_ROUTES.logout, { cookie: d.cookie, body: { deviceKey: d.deviceKey } });
    expect(out.status).toBe(204);
    expect(out.headers.get('clear-site-data')).toBe('"cache"');
    expect(out.setCookie).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(await cut).toEqual(['revoked', 'io server disconnect']);
    expect((await refresh(s, d)).body.error.code).toBe('SESSION_REVOKED');
    const rest = await fetch(`${s.url}/api/messages/unread-count`, { headers: { authorization: `Bearer ${d.token}` } });
    expect(rest.status).toBe(403);
    const files = await fetch(`${s.url}/api/files/limits`, { headers: { authorization: `Bearer ${d.token}` } });
    expect(files.status).toBe(401);
    expect(((await files.json()) as { error: { code: string } }).error.code).toBe('SESSION_REVOKED');
    await expect(connect(s.url, d.token)).rejects.toThrow('unauthorized');
  });

  it('logout with a wrong device key ends nothing', async () => {
    const s = await server();
    const d = await signUp(s);
    expect((await call(s, AUTH_ROUTES.logout, { cookie: d.cookie, body: { deviceKey: 'B'.repeat(43) } })).status).toBe(204);
    expect((await refresh(s, d)).status).toBe(200);
  });

  it('"sign out of all devices" ends every session of the user and cuts all their sockets; other users keep theirs', async () => {
    const s = await server();
    const laptop = await signUp(s);
    const phone = await signIn(s, laptop.email);
    const other = await signUp(s);
    const laptopSocket = await open(s, laptop.token);
    const phoneSocket = await open(s, phone.token);
    const otherSocket = await open(s, other.token);
    const cuts = [revokedNotice(laptopSocket), revokedNotice(phoneSocket)];
    expect((await call(s, AUTH_ROUTES.logoutAll, { bearer: phone.token, header: false })).status).toBe(204);
    expect(await Promise.all(cuts)).toEqual([
      ['revoked', 'io server disconnect'],
      ['revoked', 'io server disconnect'],
    ]);
    expect((await refresh(s, laptop)).body.error.code).toBe('SESSION_REVOKED');
    expect((await refresh(s, phone)).body.error.code).toBe('SESSION_REVOKED');
    expect(otherSocket.connected).toBe(true);
    expect((await refresh(s, other)).status).toBe(200);
  });
});

const redis = await redisAvailable();
if (!redis) console.warn(`SKIPPED cross-instance revocation test: no Redis answers at ${TEST_REDIS_URL} (.ci/run starts one)`);

describe.skipIf(!redis)('revocation on two instances (Redis)', () => {
  it('signing out on one instance cuts the session’s socket on the other within seconds, and the other refuses its token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-sessions-'));
    try {
      const sqlitePath = join(dir, 'shared.sqlite');
      const one = await server({ sqlitePath, redisUrl: TEST_REDIS_URL });
      const two = await server({ sqlitePath, redisUrl: TEST_REDIS_URL });
      const d = await signUp(one);
      const socket = await open(two, d.token);
      const cut = revokedNotice(socket);
      const started = Date.now();
      expect((await call(one, AUTH_ROUTES.logout, { cookie: d.cookie, body: { deviceKey: d.deviceKey } })).status).toBe(204);
      expect(await cut).toEqual(['revoked', 'io server disconnect']);
      expect(Date.now() - started).toBeLessThan(5_000);
      await waitFor(
        async () =>
          (await fetch(`${two.url}/api/messages/unread-count`, { headers: { authorization: `Bearer ${d.token}` } })).status === 403,
        'instance two refuses the token',
      );
      await expect(connect(two.url, d.token)).rejects.toThrow('unauthorized');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an open socket renews its token without disconnecting', () => {
  it('auth:renew before expiry: the socket outlives the old token and keeps working', async () => {
    const s = await server();
    const id = newUserId();
    const socket = await open(s, tokenFor(id, { expiresInSeconds: 2 }));
    const events: string[] = [];
    socket.on('auth:expired', () => events.push('expired'));
    socket.on('disconnect', (reason) => events.push(reason));
    const renewed = await (socket.timeout(5000) as any).emitWithAck('auth:renew', { token: tokenFor(id, { expiresInSeconds: 3600 }) });
    expect(renewed.expiresAt).toBeGreaterThan(Date.now() + 3_000_000);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(events).toEqual([]);
    expect(socket.connected).toBe(true);
    expect((await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 10 })).documents).toEqual([]);
  });

  it('an expired socket gets auth:expired, its events are refused until it renews, and renewing in the grace keeps it', async () => {
    const s = await server({ authRenewGraceMs: 3_000 });
    const id = newUserId();
    // A JWT's exp is in whole seconds after a whole-second iat: 1 s left as little as a few ms
    // for the handshake, which a loaded machine missed. 3 s leaves more than 2.
    const socket = await open(s, tokenFor(id, { expiresInSeconds: 3 }));
    const expired = new Promise<void>((resolve) => socket.once('auth:expired', () => resolve()));
    await expired;
    const refused = await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 10 });
    expect(refused.error.code).toBe('UNAUTHORIZED');
    const renewed = await (socket.timeout(5000) as any).emitWithAck('auth:renew', { token: tokenFor(id) });
    expect(renewed.expiresAt).toBeGreaterThan(Date.now());
    await new Promise((r) => setTimeout(r, 3_500));
    expect(socket.connected).toBe(true);
    expect((await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 10 })).documents).toEqual([]);
  });

  it('renewal with another user’s token, a bad token or a bad payload is refused and changes nothing', async () => {
    const s = await server();
    const id = newUserId();
    const socket = await open(s, tokenFor(id));
    const renew = (payload: unknown) => (socket.timeout(5000) as any).emitWithAck('auth:renew', payload);
    expect((await renew({ token: tokenFor(newUserId()) })).error.code).toBe('FORBIDDEN');
    expect((await renew({ token: 'garbage' })).error.code).toBe('UNAUTHORIZED');
    expect((await renew({ token: tokenFor(id), extra: 1 })).error.code).toBe('VALIDATION_FAILED');
    expect(socket.connected).toBe(true);
  });
});

describe('which tokens a server accepts', () => {
  const noExp = (userId: string, claims: object = {}) => jwt.sign({ userId, ...claims }, TEST_SECRET, { algorithm: 'HS256' });

  it('standalone: only its own issuer and audience; never a token without expiry', async () => {
    const s = await server();
    const id = newUserId();
    await expect(connect(s.url, tokenFor(id, { fetchwork: true }))).rejects.toThrow('unauthorized');
    await expect(connect(s.url, noExp(id, { iss: OWN_TOKEN_CLAIMS.issuer, aud: OWN_TOKEN_CLAIMS.audience }))).rejects.toThrow(
      'unauthorized',
    );
    expect((await open(s, tokenFor(id))).connected).toBe(true);
  });

  it('fetchwork mode: FetchWork’s tokens (issuer/audience when configured), no token without expiry, and no sessions issued at all', async () => {
    const s = await server({ auth: { mode: 'fetchwork' } });
    const id = newUserId();
    expect((await open(s, tokenFor(id, { fetchwork: true }))).connected).toBe(true);
    await expect(connect(s.url, noExp(id))).rejects.toThrow('unauthorized');
    for (const path of [AUTH_ROUTES.register, AUTH_ROUTES.confirm, AUTH_ROUTES.login, AUTH_ROUTES.refresh, AUTH_ROUTES.logout]) {
      const res = await call(s, path, { body: { email: 'x@example.com', password: 'correct horse', name: 'X' } });
      expect([path, res.status, res.body.error.code]).toEqual([path, 404, 'AUTH_DISABLED']);
      expect(res.setCookie).toBeNull();
    }
    const strict = await server({ auth: { mode: 'fetchwork', issuer: 'https://fetchwork.example', audience: 'messaging' } });
    await expect(connect(strict.url, tokenFor(id, { fetchwork: true }))).rejects.toThrow('unauthorized');
    const theirs = jwt.sign({ userId: id }, TEST_SECRET, {
      algorithm: 'HS256',
      expiresIn: 60,
      issuer: 'https://fetchwork.example',
      audience: 'messaging',
    });
    expect((await open(strict, theirs)).connected).toBe(true);
  });
});
