import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOGIN_FAILURE_LIMIT } from '../src/auth/account-service';
import { registerAndConfirm } from './support/accounts';
import { api, connect, newUserId, pull, startTestServer, type TestServer, tokenFor, waitFor } from './support/test-server';

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.stop();
});

describe('socket handshake', () => {
  it('refuses a missing, invalid, wrongly signed or expired token with connect_error "unauthorized"', async () => {
    const id = newUserId();
    for (const token of ['', 'not-a-jwt', tokenFor(id, { secret: 'another-secret-0123456789' }), tokenFor(id, { expiresInSeconds: -10 })]) {
      await expect(connect(server.url, token)).rejects.toThrow('unauthorized');
    }
  });

  it('refuses a token whose user id claim is not id-shaped', async () => {
    await expect(connect(server.url, tokenFor('../../etc'))).rejects.toThrow('unauthorized');
  });

  it('accepts userId, id and sub claims', async () => {
    for (const claim of ['userId', 'id', 'sub'] as const) {
      const socket = await connect(server.url, tokenFor(newUserId(), { claim }));
      const ack = await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 10 });
      expect(ack).toEqual({ documents: [], checkpoint: { seq: 0 } });
      socket.close();
    }
  });

  it('cuts a socket when its token expires, after an auth:expired notice', async () => {
    // 3 s, not 1: exp counts whole seconds from a whole-second iat, so 1 s could leave the handshake a few ms.
    const socket = await connect(server.url, tokenFor(newUserId(), { expiresInSeconds: 3 }));
    const notices: string[] = [];
    socket.on('auth:expired', () => notices.push('expired'));
    const reason = await new Promise<string>((resolve) => socket.once('disconnect', resolve));
    expect(reason).toBe('io server disconnect');
    expect(notices).toEqual(['expired']);
  });

  it('a reconnect through the auth callback sends a fresh token', async () => {
    const id = newUserId();
    let issued = 0;
    const socket = await connect(
      server.url,
      () => {
        issued += 1;
        return tokenFor(id, { expiresInSeconds: issued === 1 ? 1 : 3600 });
      },
      { reconnection: true },
    );
    await new Promise((resolve) => socket.once('disconnect', resolve));
    // socket.io-client does not reconnect after a server-side disconnect on its own.
    socket.connect();
    await waitFor(() => socket.connected, 'reconnect');
    expect(issued).toBe(2);
    const ack = await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 10 });
    expect(ack.documents).toEqual([]);
    socket.close();
  });
});

describe('REST auth keeps FetchWork’s answers', () => {
  it('401 without a token, 403 with a bad one', async () => {
    expect(await api(server, 'GET', '/api/messages/conversations')).toEqual({ status: 401, body: { error: 'Access token required' } });
    expect(await api(server, 'GET', '/api/messages/conversations', 'garbage')).toEqual({ status: 403, body: { error: 'Invalid token' } });
    const expired = tokenFor(newUserId(), { expiresInSeconds: -1 });
    expect((await api(server, 'GET', '/api/messages/unread-count', expired)).status).toBe(403);
  });

  it('locks an email after repeated wrong passwords (even the right one is refused then); other emails and a success before that are unaffected', async () => {
    const reg = (email: string) => registerAndConfirm(server, { email, password: 'correct horse', name: 'Eve' });
    expect((await reg('eve@example.com')).status).toBe(201);
    expect((await reg('fay@example.com')).status).toBe(201);
    const login = (email: string, password: string) => api(server, 'POST', '/api/auth/login', undefined, { email, password });
    for (let i = 1; i < LOGIN_FAILURE_LIMIT.failures; i++) expect((await login('eve@example.com', `guess ${i}`)).status).toBe(401);
    // A success clears the count: the next failures start from zero.
    expect((await login('eve@example.com', 'correct horse')).status).toBe(200);
    for (let i = 0; i < LOGIN_FAILURE_LIMIT.failures; i++) expect((await login('EVE@example.com', `guess ${i}`)).status).toBe(401);
    const locked = await login('eve@example.com', 'correct horse');
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('RATE_LIMITED');
    expect((await login('fay@example.com', 'correct horse')).status).toBe(200);
  });

  it('register (confirmed by mail) and login issue tokens that work on REST and the socket; wrong passwords do not', async () => {
    const reg = await registerAndConfirm(server, { email: 'Dana@Example.com', password: 'correct horse', name: 'Dana' });
    expect(reg.status).toBe(201);
    expect(reg.body.data.user.id).toMatch(/^[0-9a-f]{24}$/);
    // A second registration is answered as any other (registration.test.ts) and changes nothing.
    expect(
      (await api(server, 'POST', '/api/auth/register', undefined, { email: 'dana@example.com', password: 'another pass', name: 'D2' }))
        .status,
    ).toBe(202);
    expect((await api(server, 'POST', '/api/auth/login', undefined, { email: 'dana@example.com', password: 'another pass' })).status).toBe(
      401,
    );
    expect(
      (await api(server, 'POST', '/api/auth/login', undefined, { email: 'dana@example.com', password: 'wrong password' })).status,
    ).toBe(401);
    const login = await api(server, 'POST', '/api/auth/login', undefined, { email: 'dana@example.com', password: 'correct horse' });
    expect(login.status).toBe(200);
    expect((await api(server, 'GET', '/api/messages/unread-count', login.body.data.token)).body).toEqual({ data: { count: 0 } });
    const socket = await connect(server.url, login.body.data.token);
    socket.close();
  });
});
