import {
  type ConversationDoc,
  conversationConflictHandler,
  conversationRxSchema,
  type MessageDoc,
  messageConflictHandler,
  messageRxSchema,
} from '@fetchwork/shared-schema';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { createRxDatabase, type RxCollection, type RxDatabase } from 'rxdb';
import type { RxReplicationState } from 'rxdb/plugins/replication';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { draftConversation, draftMessage } from './support/docs';
import { replicateStock } from './support/stock-replication';
import { type ClientSocket, connect, newUserId, startTestServer, type TestServer, tokenFor, waitFor } from './support/test-server';

/**
 * Stock RxDB (replicateRxCollection, Dexie storage on fake-indexeddb) speaking the protocol:
 * the proof that any RxDB client can replicate through this server, independent of our client.
 */
type Collections = { messages: RxCollection<MessageDoc>; conversations: RxCollection<ConversationDoc> };

interface Device {
  db: RxDatabase<Collections>;
  socket: ClientSocket;
  replications: RxReplicationState<any, any>[];
}

let server: TestServer;
const devices: Device[] = [];

beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  for (const d of devices.splice(0)) {
    await Promise.all(d.replications.map((r) => r.cancel()));
    await d.db.close();
    d.socket.close();
  }
  await server.stop();
});

async function device(userId: string): Promise<Device> {
  const db = await createRxDatabase<Collections>({
    name: `rx-${userId}-${Math.random().toString(36).slice(2)}`,
    storage: getRxStorageDexie({ indexedDB, IDBKeyRange }),
    multiInstance: false,
  });
  await db.addCollections({
    messages: { schema: messageRxSchema, conflictHandler: messageConflictHandler },
    conversations: { schema: conversationRxSchema, conflictHandler: conversationConflictHandler },
  });
  const socket = await connect(server.url, tokenFor(userId));
  const replications = replicateStock(db, socket, `fetchwork-${server.url}`);
  const d = { db, socket, replications };
  devices.push(d);
  await Promise.all(replications.map((r) => r.awaitInitialReplication()));
  return d;
}

const strip = ({ _deleted, ...doc }: any) => doc;

describe('stock RxDB replicates through the server in both directions', () => {
  it('writes on one device arrive on the other user’s device, receipts come back', async () => {
    const a = newUserId();
    const b = newUserId();
    const devA = await device(a);
    const devB = await device(b);
    const conv = draftConversation(a, b);
    await devA.db.conversations.insert(strip(conv));
    const m = draftMessage(conv.id, a, b, 'through RxDB');
    await devA.db.messages.insert(strip(m));

    const received = await waitFor(() => devB.db.messages.findOne(m.id).exec(), 'B receives the message');
    expect(received.content).toBe('through RxDB');
    // The sender's copy turns "sent": the server's echo carries sentAt and seq.
    await waitFor(async () => (await devA.db.messages.findOne(m.id).exec())?.sentAt, 'A sees sentAt');

    await received.incrementalPatch({ deliveredAt: new Date().toISOString(), isRead: true, readAt: new Date().toISOString() });
    const readOnA = await waitFor(async () => {
      const doc = await devA.db.messages.findOne(m.id).exec();
      return doc?.isRead ? doc : null;
    }, 'A sees the read receipt');
    expect(readOnA.deliveredAt).not.toBeNull();
    const convOnB = await waitFor(async () => {
      const c = await devB.db.conversations.findOne(conv.id).exec();
      return c && c.lastMessage === m.id && c.unreadCount[b] === 0 ? c : null;
    }, 'B’s conversation reflects the read');
    expect(convOnB.participants).toEqual(conv.participants);
  });

  it('a quick second edit made before the first push’s echo is not lost', async () => {
    const a = newUserId();
    const b = newUserId();
    const devA = await device(a);
    const devB = await device(b);
    const conv = draftConversation(a, b);
    await devA.db.conversations.insert(strip(conv));
    const m = draftMessage(conv.id, a, b, 'v1');
    const doc = await devA.db.messages.insert(strip(m));
    await doc.incrementalPatch({ content: 'v2', isEdited: true, editedAt: new Date().toISOString() });
    const latest = await devA.db.messages.findOne(m.id).exec();
    await latest!.incrementalPatch({ content: 'v3', isEdited: true, editedAt: new Date().toISOString() });
    await waitFor(async () => (await devB.db.messages.findOne(m.id).exec())?.content === 'v3', 'B sees v3');
    await Promise.all(devA.replications.map((r) => r.awaitInSync()));
    expect((await devA.db.messages.findOne(m.id).exec())?.content).toBe('v3');
  });

  it('a forged change is reverted locally by the conflict handler', async () => {
    const a = newUserId();
    const b = newUserId();
    const devA = await device(a);
    const devB = await device(b);
    const conv = draftConversation(a, b);
    await devA.db.conversations.insert(strip(conv));
    const m = draftMessage(conv.id, a, b, 'original');
    await devA.db.messages.insert(strip(m));
    const onB = await waitFor(() => devB.db.messages.findOne(m.id).exec(), 'B receives');
    // B (the recipient) tries to rewrite A's content: the server answers with its state.
    await onB.incrementalPatch({ content: 'tampered' });
    await waitFor(async () => (await devB.db.messages.findOne(m.id).exec())?.content === 'original', 'B reverted');
    expect((await devA.db.messages.findOne(m.id).exec())?.content).toBe('original');
  });
});
