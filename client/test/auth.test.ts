import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { registerAndConfirm } from '../../sync-server/test/support/accounts';
import { tokenFor } from '../../sync-server/test/support/test-server';
import type { ConnectionState } from '../src/inbox-api';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { replicaMessages } from './support/replica';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

test('an expiring token is renewed over the open socket: no reconnect, no auth:expired, nothing lost or doubled', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  let aliceHandshakes = 0;
  server.current.io.on('connection', (s) => {
    if (s.data.user.id === alice.id) aliceHandshakes += 1;
  });
  // Every token lives 5 s (4–5 s: claims are in whole seconds), renewed with a quarter of it left:
  // without renewal the socket would be cut twice in this test. Shorter tokens left a margin a
  // loaded CI machine could miss (3 s: 0.75 s, and auth:expired came once).
  let issued = 0;
  const a = await openDevice(server.url, alice, {
    getToken: () => {
      issued += 1;
      return tokenFor(alice.id, { name: 'Alice', expiresInSeconds: 5 });
    },
  });
  let expired = false;
  a.socket.on('auth:expired', () => {
    expired = true;
  });
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id);
  await until(a.connection$, (s) => s.status === 'online', 'online');
  const states: ConnectionState['status'][] = [];
  const sub = a.connection$.subscribe((s) => states.push(s.status));
  const sent: string[] = [];
  for (let i = 0; i < 12; i++) {
    sent.push((await a.sendMessage(conv, `message ${i}`)).id);
    await new Promise((r) => setTimeout(r, 900));
  }
  const got = await until(b.messages$(conv, 20), (ms) => ms.length === sent.length, 'B gets every message once');
  sub.unsubscribe();
  expect(got.map((m) => m.id).sort()).toEqual([...sent].sort());
  expect(aliceHandshakes).toBe(1);
  expect(expired).toBe(false);
  expect(issued).toBeGreaterThanOrEqual(3);
  // 'syncing' is online with writes on the way; anything else would be a visible disconnect.
  expect(states.filter((s) => s !== 'online' && s !== 'syncing')).toEqual([]);
});

test('a session ended on the server (auth:revoked) stops the socket as unauthorized, keeping local data', async () => {
  const bob = makeUser('Bob');
  const { body } = await registerAndConfirm(server, { email: `revoked-${Date.now()}@example.com`, password: 'correct horse', name: 'Rev' });
  const { data } = body;
  const a = await openDevice(server.url, { id: data.user.id, name: 'Rev', token: data.token });
  await until(a.connection$, (s) => s.status === 'online', 'online');
  const conv = await a.createConversation(bob.id);
  const m = await a.sendMessage(conv, 'before the session ended');
  const out = await fetch(`${server.url}/api/auth/logout-all`, { method: 'POST', headers: { authorization: `Bearer ${data.token}` } });
  expect(out.status).toBe(204);
  await until(a.connection$, (s) => s.status === 'error' && s.reason === 'unauthorized', 'unauthorized after the session ended');
  expect((await replicaMessages(a)).map((x) => x.id)).toContain(m.id);
});

test('a refused handshake asks for sign-in, keeps local data, and reconnect() resumes with a new token', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  let token = tokenFor(alice.id, { secret: 'not-the-server-secret' });
  const a = await openDevice(server.url, alice, { getToken: () => token });
  const state = await until(a.connection$, (s) => s.status === 'error', 'unauthorized');
  expect(state).toMatchObject({ status: 'error', reason: 'unauthorized' });

  const conv = await a.createConversation(bob.id);
  const m = await a.sendMessage(conv, 'written while signed out');
  await until(a.connection$, (s) => s.status === 'error' && s.pendingWrites === 1, 'the message kept as pending');
  expect((await replicaMessages(a)).map((x) => x.id)).toEqual([m.id]);

  token = alice.token;
  a.reconnect();
  const b = await openDevice(server.url, bob);
  await until(b.messages$(conv, 10), (ms) => ms.length === 1 && ms[0]!.id === m.id, 'B gets it after sign-in');
  await until(a.connection$, (s) => s.status === 'online', 'online');
});
