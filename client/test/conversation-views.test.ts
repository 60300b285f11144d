import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { newUserId } from '../../sync-server/test/support/test-server';
import type { ConversationView } from '../src/inbox-api';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

describe('conversation views', () => {
  test('a message changes its own conversation view; the others keep their objects, so their memoised rows skip rendering', async () => {
    const alice = makeUser('Alice');
    const device = await openDevice(server.url, alice);
    // The list on screen: one subscription for the whole test, as the inbox screen holds it.
    const onScreen = device.conversations$().subscribe();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const conv = await device.createConversation(newUserId(), null);
      await device.sendMessage(conv, `hello ${i}`);
      ids.push(conv);
    }
    // Settled: every conversation and its last message are the server's copies, the conversation
    // names that message (its summary may come a moment after the message: summary-hold.ts).
    const settled = (cs: ConversationView[]) =>
      cs.length === 3 &&
      cs.every((c) => c.seq > 0 && c.lastMessage !== null && c.lastMessage === c.lastMessageView?.id && c.lastMessageView.seq > 0);
    const before = await until(device.conversations$(), settled, 'three settled conversations');
    const [first, second, third] = ids as [string, string, string];

    await device.sendMessage(first, 'news');
    const after = await until(
      device.conversations$(),
      (cs) => settled(cs) && cs.find((c) => c.id === first)?.lastMessageView?.content === 'news',
      'the new message as the first conversation’s last',
    );
    const view = (cs: ConversationView[], id: string) => cs.find((c) => c.id === id);
    expect(view(after, first)).not.toBe(view(before, first));
    expect(after[0]!.id).toBe(first);
    expect(view(after, second)).toBe(view(before, second));
    expect(view(after, third)).toBe(view(before, third));
    onScreen.unsubscribe();
  });
});
