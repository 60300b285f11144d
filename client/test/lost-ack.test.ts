import type { MessageDoc } from '@fetchwork/shared-schema';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { connect } from '../../sync-server/test/support/test-server';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

/**
 * A push the server stored but whose answer never reached the replica (a crash or a lost ack):
 * after the restart the replica pushes again (a no-op for the server) and must still end up
 * with the server's state, not stay "pending" with its own.
 */
test('a write the server already has when the replica restarts ends up sent, not pending forever', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const dbName = `echo-${alice.id}`;
  let a = await openDevice(server.url, alice, { databaseName: dbName });
  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'first');
  await until(a.messages$(conv, 10), (ms) => ms[0]?.status === 'sent', 'first sent');

  a.socket.disconnect();
  const m = await a.sendMessage(conv, 'stored, answer lost');
  await a.close();

  // What the lost push did on the server.
  const raw = await connect(server.url, alice.token);
  const { status: _s, failure: _f, mine: _m, ...local } = m;
  const wire: MessageDoc & { _deleted: boolean } = { ...local, _deleted: false };
  const answer = await raw
    .timeout(5000)
    .emitWithAck('sync:push', { collection: 'messages', rows: [{ assumedMasterState: null, newDocumentState: wire }] });
  expect(answer).toEqual({ conflicts: [], rejected: [] });
  raw.close();

  a = await openDevice(server.url, alice, { databaseName: dbName });
  await until(
    a.messages$(conv, 10),
    (ms) => {
      const x = ms.find((y) => y.id === m.id);
      return x?.status === 'sent' && x.seq > 0;
    },
    'the replica holds the server state',
  );
  await until(a.connection$, (s) => s.status === 'online', 'nothing pending');
});
