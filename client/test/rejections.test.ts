import { conversationIdFor, newConversationDoc, type MessageDoc, newMessageDoc, newMessageId } from '@fetchwork/shared-schema';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { InboxHandle } from '../src/inbox/create-inbox';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { replicaMessages, serverMessages } from './support/replica';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

/** A message written straight into the replica, as an older client or a bug might. */
function rawMessage(conversation: string, sender: string, recipient: string, content: string, extra: Partial<MessageDoc> = {}): MessageDoc {
  return { ...newMessageDoc({ id: newMessageId(), conversation, sender, recipient, content, at: new Date().toISOString() }), ...extra };
}

const statusOf = (inbox: InboxHandle, conv: string, id: string) =>
  until(inbox.messages$(conv, 50), (ms) => ms.some((m) => m.id === id && m.status === 'failed'), `message ${id} failed`).then(
    (ms) => ms.find((m) => m.id === id)!,
  );

test('a write the server refuses for good shows as failed with the reason, survives a reopen, and can be retried or discarded', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const dbName = `rejected-${alice.id}`;
  let a = await openDevice(server.url, alice, { databaseName: dbName });
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'fine');
  await until(b.messages$(conv, 10), (ms) => ms.length === 1, 'B has the good message');

  const bad = rawMessage(conv, alice.id, bob.id, 'pretending to be the system', { messageType: 'system' });
  await a.database.messages.insert(bad);
  const failed = await statusOf(a, conv, bad.id);
  expect(failed.failure).toEqual({ code: 'FORBIDDEN', message: 'only the server writes system messages' });

  await a.close();
  a = await openDevice(server.url, alice, { databaseName: dbName });
  const again = await statusOf(a, conv, bad.id);
  expect(again.failure?.code).toBe('FORBIDDEN');

  const firstFailureAt = (await a.database.outbox.findOne(`messages:${bad.id}`).exec())!.at;
  await a.retryMessage(bad.id);
  await until(
    a.database.outbox.findOne(`messages:${bad.id}`).$,
    (e) => e !== null && e.state === 'failed' && e.at > firstFailureAt,
    'the retry was sent and refused again',
  );

  await a.discardMessage(bad.id);
  await until(a.messages$(conv, 10), (ms) => ms.length === 1 && ms[0]!.content === 'fine', 'discarded locally');
  // The discard itself is never sent: the server would refuse a removal and it would fail again.
  await (await a.whenLeader()).awaitInSync();
  expect(await a.database.outbox.find().exec()).toEqual([]);
  await until(a.connection$, (s) => s.status === 'online', 'nothing pending or failed left to send');
  expect((await serverMessages(server, alice.id)).map((m) => m.content)).toEqual(['fine']);
  expect((await replicaMessages(b)).map((m) => m.content)).toEqual(['fine']);
});

test('a message whose conversation the server refuses fails with it instead of retrying forever', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice);
  const now = new Date().toISOString();
  // Not the derived id: the server refuses the conversation, so the message cannot be stored.
  const wrongId = `${conversationIdFor([alice.id, bob.id], null)}.j.x`;
  await a.database.conversations.insert({ ...newConversationDoc({ participants: [alice.id, bob.id], job: null, at: now }), id: wrongId });
  const msg = await a.sendMessage(wrongId, 'into the void');
  const failed = await statusOf(a, wrongId, msg.id);
  expect(failed.failure?.code).toBe('VALIDATION_FAILED');
  expect(failed.failure?.message).toMatch(/^the conversation was refused/);

  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'this one goes through');
  const b = await openDevice(server.url, bob);
  await until(b.messages$(conv, 10), (ms) => ms.length === 1, 'later writes are not blocked');
});

test('a retryable refusal is retried, then shown as failed, and a retry sends it once the cause is gone', async () => {
  const alice = makeUser('Alice');
  const carol = makeUser('Carol');
  const a = await openDevice(server.url, alice, { tuning: { maxRetryAttempts: 3, retryTimeMs: 100 } });
  // A message for a conversation neither this replica nor the server has yet.
  const conv = conversationIdFor([alice.id, carol.id], null);
  const early = rawMessage(conv, alice.id, carol.id, 'too early');
  await a.database.messages.insert(early);
  const failed = await statusOf(a, conv, early.id);
  expect(failed.failure?.code).toBe('CONVERSATION_NOT_FOUND');
  expect(failed.failure?.message).toMatch(/gave up after 3 attempts/);

  const c = await openDevice(server.url, carol);
  expect(await c.createConversation(alice.id)).toBe(conv);
  await c.sendMessage(conv, 'now it exists');
  await until(a.messages$(conv, 10), (ms) => ms.some((m) => m.content === 'now it exists'), 'A receives from Carol');

  await a.retryMessage(early.id);
  await until(a.messages$(conv, 10), (ms) => ms.find((m) => m.id === early.id)?.status === 'delivered', 'the retried message is delivered');
  await until(c.messages$(conv, 10), (ms) => ms.filter((m) => m.content === 'too early').length === 1, 'Carol has it once');
});
