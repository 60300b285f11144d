import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { waitFor } from '../../sync-server/test/support/test-server';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

const marked = (hit: { highlights: { text: string; match: boolean }[] }) => hit.highlights.filter((h) => h.match).map((h) => h.text);

test('search over the local replica: ranked, highlighted, by participant name, kept current, offline', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob Builder');
  const carol = makeUser('Carol');
  // The server learns display names from handshakes; Bob's must be known for name search.
  const b = await openDevice(server.url, bob);
  await until(b.connection$, (s) => s.status === 'online', 'Bob connected once');
  await b.close();
  const a = await openDevice(server.url, alice);
  const withBob = await a.createConversation(bob.id, null, 'Bob Builder');
  const withCarol = await a.createConversation(carol.id, null, 'Carol');
  await a.sendMessage(withBob, 'The invoice for March is attached.');
  await a.sendMessage(withBob, 'Invoice, invoice, invoice: please pay the invoice.');
  await a.sendMessage(withCarol, 'Lunch on Friday? No invoices involved.');
  const cafe = await a.sendMessage(withCarol, 'Meet me at the Café');
  await until(a.connection$, (s) => s.status === 'online', 'pushed');

  const hits = await a.search('invoice');
  expect(hits.map((h) => h.message.content)).toEqual([
    'Invoice, invoice, invoice: please pay the invoice.',
    'The invoice for March is attached.',
    'Lunch on Friday? No invoices involved.',
  ]);
  expect(marked(hits[1]!)).toEqual(['invoice']);
  expect(hits[1]!.highlights.map((h) => h.text).join('')).toBe('The invoice for March is attached.');
  expect(hits[0]!.conversationId).toBe(withBob);

  expect((await a.search('invo')).length).toBe(3);
  expect((await a.search('invoise')).length).toBeGreaterThan(0);
  expect((await a.search('cafe')).map((h) => h.message.id)).toEqual([cafe.id]);
  expect(marked((await a.search('cafe'))[0]!)).toEqual(['Café']);
  const byName = await a.search('builder invoice');
  expect(byName.length).toBe(2);
  expect(byName.every((h) => h.conversationId === withBob)).toBe(true);

  const fresh = await a.sendMessage(withCarol, 'A new quotation arrives');
  await waitFor(async () => (await a.search('quotation')).length === 1, 'a new message is searchable');
  await a.editMessage(fresh.id, 'A new estimate arrives');
  await waitFor(async () => (await a.search('quotation')).length === 0 && (await a.search('estimate')).length === 1, 'edits re-index');
  await a.deleteMessage(cafe.id);
  await waitFor(async () => (await a.search('cafe')).length === 0, 'deleted messages leave the index');

  await server.stop();
  try {
    await until(a.connection$, (s) => s.status !== 'online', 'offline');
    expect((await a.search('march')).map((h) => h.message.content)).toEqual(['The invoice for March is attached.']);
  } finally {
    await server.start();
  }
});

test('messages received from the server are searchable on the receiving device', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice);
  const b = await openDevice(server.url, bob);
  expect(await b.search('anything')).toEqual([]);
  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'shipping tracking number 12345');
  await waitFor(async () => (await b.search('tracking 12345')).length === 1, 'B finds the received message');
  // The sender's name comes with the conversation, which may reach B after the message: its
  // messages are indexed again then.
  await waitFor(async () => (await b.search('alice tracking')).length === 1, "B finds it by the sender's name");
  const [hit] = await b.search('alice tracking');
  expect(hit?.message.mine).toBe(false);
});

test('search$ answers again when the replica changes, once per burst of changes', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const a = await openDevice(server.url, alice);
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'nothing to find here');
  await until(b.messages$(conv, 10), (ms) => ms.length === 1, 'B has the first message');

  const answers: string[][] = [];
  const sub = b.search$('pineapple').subscribe((hits) => answers.push(hits.map((h) => h.message.content)));
  try {
    await waitFor(async () => answers.length === 1, 'the first answer');
    expect(answers[0]).toEqual([]);

    const sent = await a.sendMessage(conv, 'pineapple delivery at noon');
    await waitFor(async () => answers.at(-1)?.length === 1, 'the arriving message joins the results');
    expect(answers.at(-1)).toEqual(['pineapple delivery at noon']);

    // 20 arrivals, each also marked delivered: 40 writes to the replica in a burst.
    const before = answers.length;
    await Promise.all(Array.from({ length: 20 }, (_, i) => a.sendMessage(conv, `filler ${i}`)));
    await until(b.messages$(conv, 30), (ms) => ms.length === 22 && ms.every((m) => m.deliveredAt !== null), 'B has them all');
    await new Promise((r) => setTimeout(r, 500));
    expect(answers.length - before).toBeLessThan(6);

    await a.editMessage(sent.id, 'mango delivery at noon');
    await waitFor(async () => answers.at(-1)?.length === 0, 'an edit that no longer matches leaves the results');
  } finally {
    sub.unsubscribe();
  }
});
