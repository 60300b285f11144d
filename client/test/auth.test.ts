import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
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

test('an expiring token is replaced on the reconnect the server forces, and sync carries on', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const handshakeTokens = new Map<string, string>();
  server.current.io.on('connection', (s) => handshakeTokens.set(s.id, (s.handshake.auth as { token: string }).token));

  const shortLived = tokenFor(alice.id, { name: 'Alice', expiresInSeconds: 3 });
  const fresh = tokenFor(alice.id, { name: 'Alice', expiresInSeconds: 3600 });
  let calls = 0;
  const a = await openDevice(server.url, alice, {
    getToken: () => {
      calls += 1;
      return calls === 1 ? shortLived : fresh;
    },
  });
  let expired = false;
  const expiredSub = a.socket.on('auth:expired', () => {
    expired = true;
  });
  const b = await openDevice(server.url, bob);
  const states: ConnectionState['status'][] = [];
  const sub = a.connection$.subscribe((s) => states.push(s.status));
  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'before expiry');
  await until(b.messages$(conv, 10), (ms) => ms.length === 1, 'B gets the first message');

  // By order of handshakes, not by the socket of the moment: on a loaded machine the expiry can
  // come before B has the first message.
  await until(
    a.connection$,
    (s) => s.status === 'online' && handshakeTokens.get(a.socket.id!) === fresh,
    'reconnected with the fresh token after the expiry',
    10_000,
  );
  const aliceHandshakes = [...handshakeTokens.values()].filter((t) => t === shortLived || t === fresh);
  expect(aliceHandshakes[0]).toBe(shortLived);
  expect(aliceHandshakes).toContain(fresh);
  expect(expired).toBe(true);

  await a.sendMessage(conv, 'after expiry');
  await until(b.messages$(conv, 10), (ms) => ms.length === 2, 'B gets the message sent with the new token');
  sub.unsubscribe();
  expiredSub.off('auth:expired');
  expect(states).not.toContain('error');
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
