import {
  CONVERSATION_CREATION_REQUIRED,
  conversationIdFor,
  conversationRxSchema,
  MESSAGE_CREATION_REQUIRED,
  messageRxSchema,
  newMessageId,
} from '@fetchwork/shared-schema';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { createRxDatabase, type RxCollection, type RxDatabase, type RxJsonSchema } from 'rxdb';
import type { RxReplicationState } from 'rxdb/plugins/replication';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { replicateStock } from './support/stock-replication';
import {
  api,
  type ClientSocket,
  connect,
  newUserId,
  pull,
  push,
  startTestServer,
  type TestServer,
  tokenFor,
  waitFor,
} from './support/test-server';

/**
 * docs/protocol.md, "Minimal creation": a client written from the documentation alone, whose
 * documents leave out what the seed schema marks optional and what only the server sets, loses
 * nothing. First over a raw socket (the exact rows), then a stock RxDB client whose RxDB schema
 * lists those fields as optional.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

const pick = (doc: Record<string, unknown>, keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, doc[k]]));

async function pair() {
  const a = { id: newUserId() } as { id: string; token: string; socket: ClientSocket };
  const b = { id: newUserId() } as typeof a;
  for (const u of [a, b]) {
    u.token = tokenFor(u.id);
    u.socket = await connect(server.url, u.token);
  }
  const conversation = conversationIdFor([a.id, b.id], null);
  return {
    a,
    b,
    conversation,
    close: () => {
      for (const u of [a, b]) u.socket.close();
    },
  };
}

const messagesOf = async (socket: ClientSocket) =>
  (await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 100 })).documents as any[];

describe('a minimal creation over a raw socket', () => {
  it('a conversation and a message with only the required fields are accepted and stored with their defaults', async () => {
    const { a, b, conversation, close } = await pair();
    try {
      // The conversation: id and participants only (job is optional in the seed schema).
      const conv = { id: conversation, participants: [a.id, b.id] };
      expect(Object.keys(conv)).toEqual([...CONVERSATION_CREATION_REQUIRED]);
      expect(await push(a.socket, { collection: 'conversations', rows: [{ newDocumentState: conv }] })).toEqual({
        conflicts: [],
        rejected: [],
      });

      const message = { id: newMessageId(), conversation, sender: a.id, recipient: b.id, content: 'from the docs alone' };
      expect(Object.keys(message)).toEqual([...MESSAGE_CREATION_REQUIRED]);
      expect(await push(a.socket, { collection: 'messages', rows: [{ assumedMasterState: null, newDocumentState: message }] })).toEqual({
        conflicts: [],
        rejected: [],
      });

      const [stored] = await messagesOf(b.socket);
      expect(stored).toMatchObject({
        ...message,
        messageType: 'text',
        attachments: [],
        isRead: false,
        readAt: null,
        isEdited: false,
        editedAt: null,
        isDeleted: false,
        deletedAt: null,
        deliveredAt: null,
        _deleted: false,
      });
      // The server fields are the server's own.
      expect(stored.seq).toBeGreaterThan(0);
      expect(stored.sentAt).toBe(stored.createdAt);
      const [storedConv] = (await pull(b.socket, { collection: 'conversations', checkpoint: null, batchSize: 10 })).documents;
      expect(storedConv).toMatchObject({
        id: conversation,
        job: null,
        isActive: true,
        lastMessage: message.id,
        unreadCount: { [b.id]: 1 },
      });
    } finally {
      close();
    }
  });

  it('leaving fields out grants nothing: forged server fields, receipts and system messages are still refused', async () => {
    const { a, b, conversation, close } = await pair();
    try {
      await push(a.socket, { collection: 'conversations', rows: [{ newDocumentState: { id: conversation, participants: [a.id, b.id] } }] });
      const minimal = () => ({ id: newMessageId(), conversation, sender: a.id, recipient: b.id, content: 'x' });
      const now = new Date().toISOString();
      const cases: [Record<string, unknown>, string][] = [
        [{ ...minimal(), seq: 7 }, 'SERVER_FIELD'],
        [{ ...minimal(), sentAt: now }, 'SERVER_FIELD'],
        [{ ...minimal(), isRead: true, readAt: now }, 'FORBIDDEN'],
        [{ ...minimal(), deliveredAt: now }, 'FORBIDDEN'],
        [{ ...minimal(), messageType: 'system' }, 'FORBIDDEN'],
        [{ ...minimal(), sender: b.id, recipient: a.id }, 'FORBIDDEN'],
        [{ ...minimal(), isRead: true }, 'VALIDATION_FAILED'],
        [pick(minimal(), ['id', 'conversation', 'sender', 'recipient']), 'VALIDATION_FAILED'],
      ];
      for (const [doc, code] of cases) {
        const ack = await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: doc }] });
        expect(
          ack.rejected.map((r: any) => r.code),
          JSON.stringify(doc),
        ).toEqual([code]);
      }
      expect(await messagesOf(a.socket)).toEqual([]);
    } finally {
      close();
    }
  });

  it('updates take what they leave out from their assumed master: an edit before the echo, a partial receipt', async () => {
    const { a, b, conversation, close } = await pair();
    try {
      await push(a.socket, { collection: 'conversations', rows: [{ newDocumentState: { id: conversation, participants: [a.id, b.id] } }] });
      const v1 = { id: newMessageId(), conversation, sender: a.id, recipient: b.id, content: 'v1' };
      expect((await push(a.socket, { collection: 'messages', rows: [{ newDocumentState: v1 }] })).rejected).toEqual([]);
      // What RxDB pushes for an edit made before the server's copy came back: its own minimal
      // creation as the assumed master.
      const v2 = { ...v1, content: 'v2', isEdited: true };
      expect(await push(a.socket, { collection: 'messages', rows: [{ assumedMasterState: v1, newDocumentState: v2 }] })).toEqual({
        conflicts: [],
        rejected: [],
      });
      const [stored] = await messagesOf(b.socket);
      expect(stored).toMatchObject({ content: 'v2', isEdited: true, attachments: [], messageType: 'text' });
      expect(stored.editedAt).not.toBeNull();

      // The recipient says only what changes; the rest is the stored state it assumed.
      const now = new Date().toISOString();
      const read = { isRead: true, readAt: now, deliveredAt: now };
      expect(await push(b.socket, { collection: 'messages', rows: [{ assumedMasterState: stored, newDocumentState: read }] })).toEqual({
        conflicts: [],
        rejected: [],
      });
      const [after] = await messagesOf(a.socket);
      expect(after).toMatchObject({ content: 'v2', isRead: true });
      expect(after.seq).toBeGreaterThan(stored.seq);

      // Leaving out a server field in an update keeps the assumed one; a different one is still forged.
      const forged = await push(a.socket, {
        collection: 'messages',
        rows: [{ assumedMasterState: after, newDocumentState: { sentAt: now } }],
      });
      expect(forged.rejected.map((r: any) => r.code)).toEqual(['SERVER_FIELD']);
      expect(forged.conflicts[0].sentAt).toBe(after.sentAt);
      // And omitting attachments in an update never drops them (it is "unchanged", not "none").
      const omitted = await push(a.socket, {
        collection: 'messages',
        rows: [{ assumedMasterState: after, newDocumentState: { content: 'v3' } }],
      });
      expect(omitted).toEqual({ conflicts: [], rejected: [] });
      expect((await messagesOf(b.socket))[0]).toMatchObject({ content: 'v3', isRead: true, deliveredAt: after.deliveredAt });
    } finally {
      close();
    }
  });

  it('REST: a message needs only its content', async () => {
    const { a, b, close } = await pair();
    try {
      const conv = (await api(server, 'POST', '/api/messages/conversations', a.token, { participantId: b.id })).body.data;
      const sent = await api(server, 'POST', `/api/messages/conversations/${encodeURIComponent(conv.id)}/messages`, a.token, {
        content: 'rest',
      });
      expect(sent.status).toBe(201);
      expect(sent.body.data).toMatchObject({ content: 'rest', messageType: 'text', attachments: [], isRead: false, deliveredAt: null });
    } finally {
      close();
    }
  });
});

// A stock RxDB client whose schema lists the optional fields as optional ---------------------

/** The RxDB schemas a client would write from docs/protocol.md: every field known, only the creation fields required. */
const minimalMessageSchema: RxJsonSchema<any> = {
  ...messageRxSchema,
  required: [...MESSAGE_CREATION_REQUIRED],
  // Dexie cannot index optional fields; a client this simple needs no index.
  indexes: [],
};
const minimalConversationSchema: RxJsonSchema<any> = {
  ...conversationRxSchema,
  required: [...CONVERSATION_CREATION_REQUIRED],
  indexes: [],
};

type Collections = { messages: RxCollection<any>; conversations: RxCollection<any> };
interface Device {
  db: RxDatabase<Collections>;
  socket: ClientSocket;
  replications: RxReplicationState<any, any>[];
  /** Every row the server refused, over the device's lifetime. */
  refused: { id: string; code: string }[];
}
const devices: Device[] = [];
afterEach(async () => {
  for (const d of devices.splice(0)) {
    await Promise.all(d.replications.map((r) => r.cancel()));
    await d.db.close();
    d.socket.close();
  }
});

/** Stock replicateRxCollection over the socket, RxDB's default conflict handler (the server's state wins). */
async function device(userId: string, schemas: { messages: RxJsonSchema<any>; conversations: RxJsonSchema<any> }): Promise<Device> {
  const db = await createRxDatabase<Collections>({
    name: `minimal-${userId}-${Math.random().toString(36).slice(2)}`,
    storage: getRxStorageDexie({ indexedDB, IDBKeyRange }),
    multiInstance: false,
  });
  await db.addCollections({ messages: { schema: schemas.messages }, conversations: { schema: schemas.conversations } });
  const socket = await connect(server.url, tokenFor(userId));
  const refused: Device['refused'] = [];
  const replications = replicateStock(db, socket, `minimal-${server.url}`, (rows) => refused.push(...rows));
  const d = { db, socket, replications, refused };
  devices.push(d);
  await Promise.all(replications.map((r) => r.awaitInitialReplication()));
  return d;
}

describe('a stock RxDB client whose schema lists the optional fields as optional', () => {
  it('creates conversations and messages without them; they replicate both ways and nothing is refused', async () => {
    const a = newUserId();
    const b = newUserId();
    const minimal = { messages: minimalMessageSchema, conversations: minimalConversationSchema };
    const devA = await device(a, minimal);
    const devB = await device(b, minimal);

    const conversation = conversationIdFor([a, b], null);
    await devA.db.conversations.insert({ id: conversation, participants: [a, b].sort() });
    const ids = [newMessageId(), newMessageId(), newMessageId()];
    for (const [i, id] of ids.entries()) {
      await devA.db.messages.insert({ id, conversation, sender: a, recipient: b, content: `minimal ${i}` });
    }
    // A quick edit of the last one, likely before the server's copy is back.
    const last = await devA.db.messages.findOne(ids[2]).exec();
    await last!.incrementalPatch({ content: 'minimal 2, edited', isEdited: true });

    // B's replica gets full documents (the server's defaults and fields).
    const onB = await waitFor(async () => {
      const docs = await devB.db.messages.find().exec();
      return docs.length === 3 && docs.some((d) => d.content === 'minimal 2, edited') ? docs : null;
    }, 'B receives the three messages');
    for (const doc of onB) {
      expect(doc.toJSON()).toMatchObject({ messageType: 'text', attachments: [], isRead: false, deliveredAt: null, isDeleted: false });
      expect(doc.seq).toBeGreaterThan(0);
      expect(doc.sentAt).not.toBeNull();
    }
    // A's own copies turn "sent": the server's echo fills in what A left out.
    await waitFor(async () => {
      const docs = await devA.db.messages.find().exec();
      return docs.length === 3 && docs.every((d) => d.seq > 0 && d.sentAt) ? docs : null;
    }, 'A holds the server copies');

    // B reads the first one (a full document now) and A sees the receipt.
    const first = await devB.db.messages.findOne(ids[0]).exec();
    const now = new Date().toISOString();
    await first!.incrementalPatch({ isRead: true, readAt: now, deliveredAt: now });
    await waitFor(async () => (await devA.db.messages.findOne(ids[0]).exec())?.isRead, 'A sees the read receipt');

    // A message from B's side, also minimal, reaches A.
    const reply = newMessageId();
    await devB.db.messages.insert({ id: reply, conversation, sender: b, recipient: a, content: 'minimal reply' });
    await waitFor(() => devA.db.messages.findOne(reply).exec(), 'A receives the reply');

    await Promise.all([...devA.replications, ...devB.replications].map((r) => r.awaitInSync()));
    expect(devA.refused).toEqual([]);
    expect(devB.refused).toEqual([]);
    const stored = await messagesOf(devA.socket);
    expect(stored.map((m) => m.content).sort()).toEqual(['minimal 0', 'minimal 1', 'minimal 2, edited', 'minimal reply']);
    expect(stored.find((m) => m.id === ids[2]).isEdited).toBe(true);
    expect((await devA.db.messages.findOne(ids[2]).exec())?.content).toBe('minimal 2, edited');
  });

  it('a minimal client and a full one (our schemas) talk to each other', async () => {
    const a = newUserId();
    const b = newUserId();
    const devA = await device(a, { messages: minimalMessageSchema, conversations: minimalConversationSchema });
    const devB = await device(b, { messages: messageRxSchema, conversations: conversationRxSchema });
    const conversation = conversationIdFor([a, b], null);
    await devA.db.conversations.insert({ id: conversation, participants: [a, b].sort() });
    const id = newMessageId();
    await devA.db.messages.insert({ id, conversation, sender: a, recipient: b, content: 'to a full replica' });
    const onB = await waitFor(() => devB.db.messages.findOne(id).exec(), 'B (full schema) receives it');
    expect(onB.content).toBe('to a full replica');
    await waitFor(() => devB.db.conversations.findOne(conversation).exec(), 'B has the conversation');
    await Promise.all([...devA.replications, ...devB.replications].map((r) => r.awaitInSync()));
    expect(devA.refused).toEqual([]);
  });
});
