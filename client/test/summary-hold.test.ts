import type { ConversationDoc } from '@fetchwork/shared-schema';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

test('summary-only conversation changes wait and are stored together; the screen does not wait for them; a new conversation is stored at once and takes them along', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  // A hold far longer than the test: whatever Bob stores before it ends was not held.
  const [a, b] = await Promise.all([
    openDevice(server.url, alice),
    openDevice(server.url, bob, { tuning: { conversationSummaryHoldMs: 10 * 60_000 } }),
  ]);
  const conv = await a.createConversation(bob.id);
  // New to Bob's replica: not held.
  await until(b.conversations$(), (cs) => cs.some((c) => c.id === conv), "the new conversation in Bob's list");

  const writes: ConversationDoc[] = [];
  const sub = b.database.conversations.$.subscribe((e) => {
    if (e.documentId === conv) writes.push(e.documentData as ConversationDoc);
  });
  const sent = [];
  for (let i = 1; i <= 5; i++) sent.push(await a.sendMessage(conv, `message ${i}`));
  const last = sent[sent.length - 1]!;

  // Bob's list shows the last message and the unread count from the messages, at once.
  const shown = await until(
    b.conversations$(),
    (cs) => cs.some((c) => c.id === conv && c.lastMessageView?.id === last.id && c.unread === 5),
    "Bob's list with the fifth message, 5 unread",
  );
  expect(shown[0]?.id).toBe(conv);
  // The server rewrote the summary with every message; none of it is stored yet.
  expect(writes).toEqual([]);
  const stored = await b.database.conversations.findOne(conv).exec();
  expect(stored?.lastMessage).toBeNull();

  // A conversation Bob's replica does not hold yet may not wait, and flushes what was held.
  const second = await a.createConversation(bob.id, 'job-summary-hold');
  await until(b.conversations$(), (cs) => cs.some((c) => c.id === second), "the second conversation in Bob's list");
  await until(
    b.database.conversations.findOne(conv).$,
    (d) => d?.lastMessage === last.id,
    "Bob's stored summary of the first conversation",
  );
  sub.unsubscribe();
  // One write for the five summaries, in the state the server holds now.
  expect(writes).toHaveLength(1);
  expect(writes[0]).toMatchObject({ lastMessage: last.id, unreadCount: { [bob.id]: 5 } });
  const alices = await until(a.database.conversations.findOne(conv).$, (d) => d?.lastMessage === last.id, "Alice's copy of the summary");
  expect(writes[0]?.seq).toBe(alices?.seq);
});

test('held summaries are stored when the hold ends, in the state the server holds', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const [a, b] = await Promise.all([
    openDevice(server.url, alice),
    openDevice(server.url, bob, { tuning: { conversationSummaryHoldMs: 1_000 } }),
  ]);
  const conv = await a.createConversation(bob.id);
  await until(b.conversations$(), (cs) => cs.some((c) => c.id === conv), "the conversation in Bob's list");
  const sent = [];
  for (let i = 1; i <= 4; i++) sent.push(await a.sendMessage(conv, `message ${i}`));
  const last = sent[sent.length - 1]!;
  // Nothing but the summaries changes after the conversation is known: only the hold's end stores them.
  const stored = await until(b.database.conversations.findOne(conv).$, (d) => d?.lastMessage === last.id, "Bob's stored summary");
  const alices = await until(a.database.conversations.findOne(conv).$, (d) => d?.lastMessage === last.id, "Alice's copy");
  expect(stored?.unreadCount[bob.id]).toBe(4);
  expect(stored?.seq).toBe(alices?.seq);
});
