import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

test('online and typing reach the other participant through the inbox (the default presence client)', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice);
  const b1 = await openDevice(server.url, bob);
  const b2 = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'hi');
  await until(b1.messages$(conv, 10), (ms) => ms.length === 1, 'the conversation exists for both');
  // Presence needs consent (docs/presence.md): Bob answers, so both have written.
  await b1.sendMessage(conv, 'hello');
  await until(a.messages$(conv, 10), (ms) => ms.length === 2, 'Bob’s reply reaches Alice');

  await until(a.online$(bob.id), (on) => on, 'A sees Bob online');
  b1.typing(conv, true);
  expect(await until(a.typingUsers$(conv), (ids) => ids.length === 1, 'A sees Bob typing')).toEqual([bob.id]);
  b1.typing(conv, false);
  await until(a.typingUsers$(conv), (ids) => ids.length === 0, 'Bob stopped typing');

  await b1.close();
  await b2.close();
  await until(a.online$(bob.id), (on) => !on, 'A sees Bob go offline', 10_000);
});
