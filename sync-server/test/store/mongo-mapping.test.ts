import { type ConversationDoc, conversationIdFor, type MessageDoc, newMessageId } from '@fetchwork/shared-schema';
import fc from 'fast-check';
import mongoose, { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { StaleWriteError, type WriteOp } from '../../src/store/port';
import { backfillWrite, LEGACY_FILTER, legacyAudience } from '../../src/store/mongo/backfill';
import { affectedFeeds, docKey, feedKey, planCommit, sequenceRange, type StoredState } from '../../src/store/mongo/commit-plan';
import { isToleratedIndexError, transactionSupportProblem } from '../../src/store/mongo/connect';
import { clientIdFor, embeddedTimeMs, fromRef, isCanonicalObjectIdHex, objectIdFor, syncIdOf, toRef } from '../../src/store/mongo/ids';
import {
  conversationFromRecord,
  conversationToRecord,
  messageFromRecord,
  messageToRecord,
  recordUpdate,
  userFromRecord,
  userUpsertUpdate,
} from '../../src/store/mongo/mapping';
import {
  byIdsFilter,
  conversationsOfQuery,
  escapeRegex,
  feedBeforeFilter,
  feedBeforeQuery,
  feedHeadQuery,
  feedQuery,
  messagePageQuery,
  NEWEST_MESSAGES_CHUNK,
  newestMessagesPipelines,
  searchQuery,
  unreadFilter,
  usersByIdsFilter,
} from '../../src/store/mongo/queries';
import {
  COLLECTION_NAMES,
  CONVERSATION_INDEXES,
  type ConversationRecord,
  createModels,
  MESSAGE_INDEXES,
  type MessageRecord,
  USER_INDEXES,
} from '../../src/store/mongo/schemas';
import { draftConversation, draftMessage } from '../support/docs';

const HEX_A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const HEX_B = '64b000000000000000000b22';
const isOid = (v: unknown): v is Types.ObjectId => v instanceof Types.ObjectId;

function sentMessage(overrides: Partial<MessageDoc> = {}): MessageDoc {
  const conv = conversationIdFor([HEX_A, HEX_B], null);
  const { _deleted, ...doc } = draftMessage(conv, HEX_A, HEX_B, 'hello', { seq: 7, sentAt: '2025-03-01T10:00:00.000Z', ...overrides });
  return doc;
}

function conversation(overrides: Partial<ConversationDoc> = {}): ConversationDoc {
  const { _deleted, ...doc } = draftConversation(HEX_A, HEX_B);
  return { ...doc, seq: 3, unreadCount: { [HEX_B]: 2 }, participantNames: { [HEX_A]: 'Alice' }, ...overrides };
}

// One unconnected connection: schemas compile and cast exactly as they would against a server.
const models = createModels(mongoose.createConnection());

describe('ids: sync ids and ObjectIds', () => {
  it('only canonical (lowercase) 24-hex ids become ObjectIds; every other id stays the string it was', () => {
    expect(isOid(toRef(HEX_A))).toBe(true);
    for (const id of [HEX_A.toUpperCase(), 'alice', 'aaaaaaaaaaaaaaaaaaaaaaa', `${HEX_A}0`, 'user_1-x']) {
      expect(toRef(id)).toBe(id);
    }
    for (const id of [HEX_A, HEX_B, HEX_A.toUpperCase(), 'alice']) expect(fromRef(toRef(id))).toBe(id);
    expect(isCanonicalObjectIdHex('AAAAAAAAAAAAAAAAAAAAAAAA')).toBe(false);
    expect(() => fromRef(42)).toThrow(TypeError);
  });

  it('a hex sync id is its own _id and needs no clientId', () => {
    expect(objectIdFor(HEX_B).toHexString()).toBe(HEX_B);
    expect(clientIdFor(HEX_B)).toBeUndefined();
    expect(syncIdOf({ _id: new Types.ObjectId(HEX_B) })).toBe(HEX_B);
  });

  it('a client id keeps itself in clientId and derives a stable _id that carries its creation second', () => {
    const id = newMessageId();
    const oid = objectIdFor(id);
    expect(objectIdFor(id).equals(oid)).toBe(true);
    expect(clientIdFor(id)).toBe(id);
    expect(syncIdOf({ _id: oid, clientId: id })).toBe(id);
    const ms = embeddedTimeMs(id)!;
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
    expect(oid.getTimestamp().getTime()).toBe(Math.floor(ms / 1000) * 1000);
    // The ULID spec's example: 01ARZ3NDEK encodes 1469922850259 ms.
    expect(embeddedTimeMs('01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBe(1469922850259);
    expect(objectIdFor('01ARZ3NDEKTSV4RRFFQ69G5FAV').getTimestamp().getTime()).toBe(1469922850000);
    expect(embeddedTimeMs('c.a.b')).toBeNull();
  });

  it('derived _ids do not collide across many ids, and conversation ids derive too', () => {
    const ids = Array.from({ length: 2000 }, () => newMessageId());
    ids.push(conversationIdFor([HEX_A, HEX_B], null), conversationIdFor([HEX_A, HEX_B], 'job1'), conversationIdFor([HEX_A, 'carol'], null));
    const hexes = new Set(ids.map((id) => objectIdFor(id).toHexString()));
    expect(hexes.size).toBe(ids.length);
  });
});

describe('message mapping', () => {
  it('a sync message becomes FetchWork’s shape: ObjectId refs for 24-hex users, Dates, clientId beside a derived _id', () => {
    const doc = sentMessage({ recipient: 'carol' });
    const r = messageToRecord(doc, [doc.sender, doc.recipient, doc.sender]);
    expect(r._id.equals(objectIdFor(doc.id))).toBe(true);
    expect(r.clientId).toBe(doc.id);
    expect(r.conversation.equals(objectIdFor(doc.conversation))).toBe(true);
    expect(r.conversationClientId).toBe(doc.conversation);
    expect(isOid(r.sender) && r.sender.toHexString()).toBe(HEX_A);
    expect(r.recipient).toBe('carol');
    expect(r.createdAt).toEqual(new Date(doc.createdAt));
    expect(r.sentAt).toEqual(new Date('2025-03-01T10:00:00.000Z'));
    expect(r.deliveredAt).toBeNull();
    expect(r.audience).toHaveLength(2);
    expect(messageFromRecord(r)).toEqual(doc);
  });

  it('a message in a legacy (hex id) conversation references it by that ObjectId, with no companion', () => {
    const doc = sentMessage({ conversation: HEX_B });
    const r = messageToRecord(doc, []);
    expect(r.conversation.toHexString()).toBe(HEX_B);
    expect('conversationClientId' in r).toBe(false);
    expect(messageFromRecord(r).conversation).toBe(HEX_B);
  });

  it('refuses a date that is not one instead of storing Invalid Date', () => {
    expect(() => messageToRecord(sentMessage({ readAt: 'yesterday' }), [])).toThrow(/not a date/);
  });

  it('a legacy message from the old REST API: hex id, sent when created, delivered when read, seq 0', () => {
    const _id = new Types.ObjectId();
    const createdAt = new Date('2024-05-01T08:00:00.000Z');
    const readAt = new Date('2024-05-01T09:00:00.000Z');
    const legacy = {
      _id,
      conversation: new Types.ObjectId(HEX_B),
      sender: new Types.ObjectId(HEX_A),
      recipient: new Types.ObjectId(HEX_B),
      content: 'old',
      messageType: 'file',
      attachments: [{ _id: new Types.ObjectId(), filename: 'a.pdf', url: '/u/a.pdf', size: 10, mimeType: 'application/pdf' }],
      isRead: true,
      readAt,
      isEdited: false,
      isDeleted: false,
      createdAt,
      updatedAt: readAt,
      __v: 0,
    } as unknown as MessageRecord;
    expect(messageFromRecord(legacy)).toEqual({
      id: _id.toHexString(),
      conversation: HEX_B,
      sender: HEX_A,
      recipient: HEX_B,
      content: 'old',
      messageType: 'file',
      attachments: [{ filename: 'a.pdf', url: '/u/a.pdf', size: 10, mimeType: 'application/pdf' }],
      isRead: true,
      readAt: readAt.toISOString(),
      isEdited: false,
      editedAt: null,
      isDeleted: false,
      deletedAt: null,
      deliveredAt: readAt.toISOString(),
      createdAt: createdAt.toISOString(),
      updatedAt: readAt.toISOString(),
      seq: 0,
      sentAt: createdAt.toISOString(),
    });
    const unread = messageFromRecord({ ...legacy, isRead: false, readAt: null });
    expect(unread.deliveredAt).toBeNull();
    expect(unread.readAt).toBeNull();
    // Read without a time: read by its last update at the latest, so isRead ⇔ readAt still holds.
    const { readAt: _r, ...noReadAt } = legacy;
    expect(messageFromRecord(noReadAt as MessageRecord)).toMatchObject({
      isRead: true,
      readAt: readAt.toISOString(),
      deliveredAt: readAt.toISOString(),
    });
    // A stored null is a pending message, not a legacy one.
    expect(messageFromRecord({ ...legacy, sentAt: null }).sentAt).toBeNull();
  });

  it('round-trips every valid message exactly (property)', () => {
    fc.assert(
      fc.property(arbMessage(), (doc) => {
        expect(messageFromRecord(messageToRecord(doc, [doc.sender, doc.recipient]))).toEqual(doc);
      }),
      { numRuns: 300 },
    );
  });
});

describe('conversation mapping', () => {
  it('unreadCount is a Map on the model and a plain record in the document, both ways', () => {
    const doc = conversation({ lastMessage: newMessageId() });
    const record = conversationToRecord(doc, doc.participants);
    const hydrated = new models.Conversation(record);
    expect(hydrated.get('unreadCount')).toBeInstanceOf(Map);
    expect((hydrated.get('unreadCount') as Map<string, number>).get(HEX_B)).toBe(2);
    // From a hydrated document (Maps) and from a lean read (plain objects) alike.
    expect(conversationFromRecord(hydrated.toObject() as ConversationRecord)).toEqual(doc);
    expect(conversationFromRecord(JSON.parse(JSON.stringify(record), reviveRecord) as ConversationRecord)).toEqual(doc);
  });

  it('lastMessage is always an ObjectId ref (populate keeps working); a client id is kept beside it', () => {
    const clientLast = newMessageId();
    const r1 = conversationToRecord(conversation({ lastMessage: clientLast }), []);
    expect(r1.lastMessage?.equals(objectIdFor(clientLast))).toBe(true);
    expect(r1.lastMessageClientId).toBe(clientLast);
    const r2 = conversationToRecord(conversation({ lastMessage: HEX_B }), []);
    expect(r2.lastMessage?.toHexString()).toBe(HEX_B);
    expect('lastMessageClientId' in r2).toBe(false);
    expect(conversationFromRecord(r2).lastMessage).toBe(HEX_B);
    expect(conversationToRecord(conversation(), []).lastMessage).toBeNull();
  });

  it('a legacy conversation: hex id, sorted participants, job ObjectId, last activity from updatedAt when missing', () => {
    const _id = new Types.ObjectId();
    const lastMessage = new Types.ObjectId();
    const updatedAt = new Date('2024-06-01T00:00:00.000Z');
    const legacy = {
      _id,
      // Not sorted: FetchWork stored participants in the order it was given them.
      participants: [new Types.ObjectId(HEX_A), new Types.ObjectId(HEX_B)],
      job: new Types.ObjectId('64b0000000000000000000f0'),
      lastMessage,
      isActive: true,
      unreadCount: new Map([[HEX_A, 1]]),
      createdAt: new Date('2024-01-01T00:00:00.000Z'),
      updatedAt,
    } as unknown as ConversationRecord;
    expect(conversationFromRecord(legacy)).toEqual({
      id: _id.toHexString(),
      participants: [HEX_B, HEX_A],
      job: '64b0000000000000000000f0',
      lastMessage: lastMessage.toHexString(),
      lastActivity: updatedAt.toISOString(),
      isActive: true,
      unreadCount: { [HEX_A]: 1 },
      participantNames: {},
      createdAt: '2024-01-01T00:00:00.000Z',
      updatedAt: updatedAt.toISOString(),
      seq: 0,
    });
  });

  it('round-trips every valid conversation exactly (property)', () => {
    fc.assert(
      fc.property(arbConversation(), (doc) => {
        expect(conversationFromRecord(conversationToRecord(doc, doc.participants))).toEqual(doc);
      }),
      { numRuns: 300 },
    );
  });
});

describe('record updates and users', () => {
  it('an update $sets every field but _id, so fields FetchWork keeps that we do not know (__v) survive', () => {
    const record = messageToRecord(sentMessage(), [HEX_A, HEX_B]);
    const update = recordUpdate(record);
    expect(update.$set).not.toHaveProperty('_id');
    expect(update.$set).not.toHaveProperty('__v');
    expect(Object.keys(update.$set).sort()).toEqual(
      Object.keys(record)
        .filter((k) => k !== '_id')
        .sort(),
    );
    expect(update.$unset).toBeUndefined();
  });

  it('an update $unsets a companion id that no longer applies', () => {
    const update = recordUpdate(conversationToRecord(conversation({ lastMessage: HEX_B }), []));
    expect(update.$unset).toEqual({ lastMessageClientId: '' });
    const legacyMessage = recordUpdate(messageToRecord(sentMessage({ id: HEX_B, conversation: HEX_A }), []));
    expect(legacyMessage.$unset).toEqual({ clientId: '', conversationClientId: '' });
  });

  it('user upserts set given fields, start missing ones as null, lowercase emails; ids map both ways', () => {
    expect(userUpsertUpdate({ id: HEX_A, name: 'Alice', email: 'Alice@Example.COM' })).toEqual({
      filter: { _id: new Types.ObjectId(HEX_A) },
      update: { $set: { name: 'Alice', email: 'alice@example.com' }, $setOnInsert: { passwordHash: null } },
    });
    expect(userUpsertUpdate({ id: 'alice', email: null }).update).toEqual({
      $set: { email: null },
      $setOnInsert: { name: null, passwordHash: null },
    });
    expect(userFromRecord({ _id: new Types.ObjectId(HEX_A), name: 'A', email: null, passwordHash: 'h' })).toEqual({
      id: HEX_A,
      name: 'A',
      email: null,
      passwordHash: 'h',
    });
    expect(userFromRecord({ _id: 'alice' } as never).id).toBe('alice');
  });
});

describe('Mongoose schemas cast our records without changing them', () => {
  it('a message record validates and keeps ObjectId vs string refs, with no __v and no attachment _id', async () => {
    const record = messageToRecord(
      sentMessage({ recipient: 'carol', attachments: [{ filename: 'f', url: 'u', size: 1, mimeType: 'x/y' }] }),
      [HEX_A, 'carol'],
    );
    const doc = new models.Message(record);
    await expect(doc.validate()).resolves.toBeUndefined();
    const out = doc.toObject() as unknown as Record<string, unknown>;
    expect(isOid(out.sender)).toBe(true);
    expect(out.recipient).toBe('carol');
    expect(out.audience).toEqual([new Types.ObjectId(HEX_A), 'carol']);
    expect(out).not.toHaveProperty('__v');
    expect((out.attachments as object[])[0]).not.toHaveProperty('_id');
    expect(messageFromRecord(out as unknown as MessageRecord)).toEqual(messageFromRecord(record));
  });

  it('content over FetchWork’s 2000 characters is refused by the schema too', async () => {
    const doc = new models.Message(messageToRecord(sentMessage({ content: 'x'.repeat(2001) }), []));
    await expect(doc.validate()).rejects.toThrow(/content/);
  });

  it('users are keyed by ObjectId for FetchWork ids and by string otherwise', async () => {
    for (const id of [HEX_A, 'alice']) {
      const doc = new models.User({ ...userUpsertUpdate({ id }).filter, name: 'n', email: null, passwordHash: null });
      await expect(doc.validate()).resolves.toBeUndefined();
      expect(fromRef(doc.toObject()._id)).toBe(id);
    }
  });

  it('query casting leaves the refs of a filter as built (ObjectId for hex users, strings otherwise)', () => {
    for (const user of [HEX_A, 'alice']) {
      const spec = feedQuery(user, 5, 10);
      const query = models.Message.find(spec.filter);
      query.cast(models.Message);
      expect(query.getFilter()).toEqual({ audience: toRef(user), seq: { $gt: 5 } });
    }
    const byIds = models.User.find(usersByIdsFilter([HEX_A, 'alice']));
    byIds.cast(models.User);
    expect(byIds.getFilter()).toEqual({ _id: { $in: [new Types.ObjectId(HEX_A), 'alice'] } });
  });

  it('the schemas declare exactly the documented indexes', () => {
    const names = (m: { schema: mongoose.Schema }) => m.schema.indexes().map(([, options]) => options.name);
    expect(names(models.Message)).toEqual(MESSAGE_INDEXES.map((i) => i.options.name));
    expect(names(models.Conversation)).toEqual(CONVERSATION_INDEXES.map((i) => i.options.name));
    expect(names(models.User)).toEqual(USER_INDEXES.map((i) => i.options.name));
    expect(models.Message.collection.collectionName).toBe('messages');
    expect(models.Conversation.collection.collectionName).toBe('conversations');
    expect(models.User.collection.collectionName).toBe('messaging_users');
  });
});

describe('query building', () => {
  it('pull: one audience member, seq after the checkpoint, ascending, bounded — the (audience, seq) index', () => {
    expect(feedQuery(HEX_A, 12, 50)).toEqual({
      filter: { audience: new Types.ObjectId(HEX_A), seq: { $gt: 12 } },
      sort: { seq: 1 },
      limit: 50,
    });
    expect(feedHeadQuery('alice')).toEqual({ filter: { audience: 'alice', seq: { $type: 'number' } }, sort: { seq: -1 }, limit: 1 });
    const feedIndex = MESSAGE_INDEXES.find((i) => i.options.name === 'messaging_feed')!;
    expect(Object.keys(feedIndex.fields)).toEqual(['audience', 'seq']);
  });

  it('history: the (audience, seq) index read backwards below a position; its count uses the same filter', () => {
    expect(feedBeforeQuery(HEX_A, 40, 1000)).toEqual({
      filter: { audience: new Types.ObjectId(HEX_A), seq: { $lt: 40 } },
      sort: { seq: -1 },
      limit: 1000,
    });
    expect(feedBeforeFilter('alice', 7)).toEqual({ audience: 'alice', seq: { $lt: 7 } });
  });

  it('newest messages of many conversations: per conversation a bounded backward scan, chained with $unionWith, one aggregation per chunk', () => {
    const ids = Array.from({ length: NEWEST_MESSAGES_CHUNK + 3 }, (_, i) => conversationIdFor([HEX_A, `user${i}`], null));
    const scan = (id: string) => [
      { $match: { conversation: objectIdFor(id), seq: { $lt: 99 } } },
      { $sort: { seq: -1, _id: -1 } },
      { $limit: 20 },
    ];
    const pipelines = newestMessagesPipelines([...ids, ids[0]!], 20, 99);
    expect(pipelines).toHaveLength(2);
    expect(pipelines[0]).toEqual([
      ...scan(ids[0]!),
      ...ids.slice(1, NEWEST_MESSAGES_CHUNK).map((id) => ({ $unionWith: { coll: COLLECTION_NAMES.messages, pipeline: scan(id) } })),
    ]);
    expect(pipelines[1]).toEqual([
      ...scan(ids[NEWEST_MESSAGES_CHUNK]!),
      ...ids.slice(NEWEST_MESSAGES_CHUNK + 1).map((id) => ({ $unionWith: { coll: COLLECTION_NAMES.messages, pipeline: scan(id) } })),
    ]);
    expect(newestMessagesPipelines([], 20, 99)).toEqual([]);
  });

  it('lists: conversations by participant, newest activity first; a message page newest first before a seq', () => {
    expect(conversationsOfQuery(HEX_A)).toEqual({
      filter: { participants: new Types.ObjectId(HEX_A) },
      sort: { lastActivity: -1, _id: 1 },
    });
    const conv = conversationIdFor([HEX_A, HEX_B], null);
    expect(messagePageQuery(conv, { limit: 20 })).toEqual({
      filter: { conversation: objectIdFor(conv) },
      sort: { seq: -1, _id: -1 },
      limit: 20,
    });
    expect(messagePageQuery(HEX_B, { limit: 5, beforeSeq: 40 })).toEqual({
      filter: { conversation: new Types.ObjectId(HEX_B), seq: { $lt: 40 } },
      sort: { seq: -1, _id: -1 },
      limit: 5,
    });
    const pageIndex = MESSAGE_INDEXES.find((i) => i.options.name === 'messaging_conversation_seq')!;
    expect(pageIndex.fields).toEqual({ conversation: 1, seq: 1, _id: 1 });
    const participantIndex = CONVERSATION_INDEXES.find((i) => i.options.name === 'messaging_participant_activity')!;
    expect(participantIndex.fields).toEqual({ participants: 1, lastActivity: -1, _id: 1 });
  });

  it('unread counts legacy records that lack the flags', () => {
    expect(unreadFilter(HEX_B)).toEqual({ recipient: new Types.ObjectId(HEX_B), isRead: { $ne: true }, isDeleted: { $ne: true } });
  });

  it('search matches the query literally and case-insensitively, like SQLite’s LIKE', () => {
    const spec = searchQuery('alice', '100%', 10);
    expect(spec.filter).toMatchObject({ audience: 'alice', isDeleted: { $ne: true }, content: { $options: 'i' } });
    expect(spec.sort).toEqual({ seq: -1 });
    const matches = (query: string, content: string) => new RegExp(escapeRegex(query), 'i').test(content);
    for (const tricky of ['100%', 'under_score', 'a.c', '(x)', '[y]', 'a+b*c?', '^$', 'back\\slash', '{1,2}', 'a|b', 'x/y-z']) {
      expect(matches(tricky, `before ${tricky} after`)).toBe(true);
    }
    expect(matches('a.c', 'abc')).toBe(false);
    expect(matches('a|b', 'a')).toBe(false);
    expect(matches('.*', 'anything')).toBe(false);
    expect(matches('HeLLo', 'say hello')).toBe(true);
  });

  it('ids of a batch are deduplicated and mapped to their _ids', () => {
    const id = newMessageId();
    expect(byIdsFilter([id, HEX_A, id])).toEqual({ _id: { $in: [objectIdFor(id), new Types.ObjectId(HEX_A)] } });
  });
});

describe('commit plan: sequences and compare-and-set', () => {
  const conv = conversation({ seq: 0 });
  const m1 = sentMessage({ seq: 0, content: 'one' });
  const m2 = sentMessage({ id: newMessageId(), seq: 0, content: 'two' });
  const create = (collection: 'messages' | 'conversations', doc: MessageDoc | ConversationDoc, audience = [HEX_A, HEX_B]): WriteOp =>
    ({ collection, doc, expectedSeq: null, audience }) as WriteOp;

  it('sequences are the counter’s last `count` values, in op order', () => {
    expect(sequenceRange(10, 3)).toEqual([8, 9, 10]);
    expect(sequenceRange(1, 1)).toEqual([1]);
    expect(() => sequenceRange(2, 3)).toThrow(RangeError);
    expect(() => sequenceRange(5, 0)).toThrow(RangeError);
  });

  it('assigns each op its sequence, reports stored states in op order and feeds with the pre-commit heads', () => {
    const heads = new Map([
      [feedKey(HEX_A, 'messages'), 4],
      [feedKey(HEX_B, 'conversations'), 2],
    ]);
    const plan = planCommit([create('conversations', conv), create('messages', m1), create('messages', m2)], new Map(), 12, heads);
    expect(plan.result.docs.map((d) => [d.collection, d.doc.id, d.doc.seq])).toEqual([
      ['conversations', conv.id, 10],
      ['messages', m1.id, 11],
      ['messages', m2.id, 12],
    ]);
    expect(plan.writes.every((w) => w.insert)).toBe(true);
    const feed = (u: string, c: string) => plan.result.feeds.find((f) => f.userId === u && f.collection === c)!;
    expect(feed(HEX_A, 'messages').prevSeq).toBe(4);
    expect(feed(HEX_B, 'messages').prevSeq).toBe(0);
    expect(feed(HEX_B, 'conversations').prevSeq).toBe(2);
    expect(feed(HEX_A, 'messages').docs.map((d) => d.seq)).toEqual([11, 12]);
    expect(plan.result.feeds).toHaveLength(4);
  });

  it('refuses to create a document that exists, or to update one whose seq moved', () => {
    const stored = new Map<string, StoredState>([[docKey('messages', m1.id), { seq: 5, audience: [HEX_A, HEX_B] }]]);
    const stale = (op: WriteOp) => {
      try {
        planCommit([op], stored, 9, new Map());
      } catch (err) {
        return err;
      }
      return null;
    };
    const created = stale(create('messages', m1));
    expect(created).toBeInstanceOf(StaleWriteError);
    expect(created).toMatchObject({ collection: 'messages', id: m1.id });
    expect(stale({ collection: 'messages', doc: m1, expectedSeq: 4, audience: [] })).toBeInstanceOf(StaleWriteError);
    expect(stale({ collection: 'messages', doc: m2, expectedSeq: 5, audience: [] })).toBeInstanceOf(StaleWriteError);
    expect(stale({ collection: 'messages', doc: m1, expectedSeq: 5, audience: [HEX_A, HEX_B] })).toBeNull();
  });

  it('a document written twice in one commit must name the first write’s seq the second time', () => {
    const ops: WriteOp[] = [
      create('messages', m1),
      { collection: 'messages', doc: { ...m1, content: 'again' }, expectedSeq: 20, audience: [HEX_A, HEX_B] },
    ];
    const plan = planCommit(ops, new Map(), 21, new Map());
    expect(plan.writes.map((w) => [w.insert, w.doc.seq])).toEqual([
      [true, 20],
      [false, 21],
    ]);
    expect(plan.result.feeds.find((f) => f.userId === HEX_A)!.docs.map((d) => (d as MessageDoc).content)).toEqual(['one', 'again']);
    expect(() => planCommit([create('messages', m1), create('messages', m1)], new Map(), 21, new Map())).toThrow(StaleWriteError);
  });

  it('an audience accumulates: whoever had the document keeps it, and their feed reports the move', () => {
    const stored = new Map<string, StoredState>([[docKey('messages', m1.id), { seq: 5, audience: ['carol'] }]]);
    const op: WriteOp = { collection: 'messages', doc: m1, expectedSeq: 5, audience: [HEX_A, HEX_B] };
    expect(affectedFeeds([op], stored)).toEqual([
      { userId: 'carol', collection: 'messages' },
      { userId: HEX_A, collection: 'messages' },
      { userId: HEX_B, collection: 'messages' },
    ]);
    const plan = planCommit([op], stored, 6, new Map([[feedKey('carol', 'messages'), 5]]));
    expect(plan.writes[0]!.audience).toEqual(['carol', HEX_A, HEX_B]);
    expect(plan.result.feeds.map((f) => [f.userId, f.prevSeq])).toEqual([
      ['carol', 5],
      [HEX_A, 0],
      [HEX_B, 0],
    ]);
  });
});

describe('connection checks and the legacy backfill', () => {
  it('a standalone server is refused with how to make it a replica set; replica sets and mongos pass', () => {
    const problem = transactionSupportProblem({ isWritablePrimary: true } as never);
    expect(problem).toMatch(/replica set/);
    expect(problem).toContain('rs.initiate()');
    expect(problem).toContain('--replSet');
    expect(transactionSupportProblem({ setName: 'rs0' })).toBeNull();
    expect(transactionSupportProblem({ msg: 'isdbgrid' })).toBeNull();
  });

  it('an existing index on the same keys under another name is accepted, unless ours must be unique', () => {
    expect(isToleratedIndexError({ code: 85 }, {})).toBe(true);
    expect(isToleratedIndexError({ code: 85 }, { unique: true })).toBe(false);
    expect(isToleratedIndexError({ code: 86 }, {})).toBe(false);
    expect(isToleratedIndexError(new Error('x'), {})).toBe(false);
  });

  it('the backfill gives a legacy record a seq and the audience sync would have given it, never renumbering', () => {
    const _id = new Types.ObjectId();
    expect(legacyAudience('messages', { sender: new Types.ObjectId(HEX_A), recipient: new Types.ObjectId(HEX_B) })).toEqual([HEX_A, HEX_B]);
    expect(legacyAudience('conversations', { participants: [new Types.ObjectId(HEX_B), 'carol', 'carol'] })).toEqual([HEX_B, 'carol']);
    expect(backfillWrite('conversations', { _id, participants: [new Types.ObjectId(HEX_B), 'carol'] }, 42)).toEqual({
      updateOne: {
        filter: { _id, seq: { $exists: false } },
        update: { $set: { seq: 42, audience: [new Types.ObjectId(HEX_B), 'carol'] } },
      },
    });
    expect(LEGACY_FILTER).toEqual({ seq: { $exists: false } });
  });
});

// --- arbitraries -------------------------------------------------------------------------

const arbHex = fc.stringMatching(/^[0-9a-f]{24}$/);
const arbUser = fc.oneof(arbHex, fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/));
const arbIso = fc
  .date({ min: new Date('2000-01-01T00:00:00.000Z'), max: new Date('2100-01-01T00:00:00.000Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const arbIsoOrNull = fc.option(arbIso, { nil: null });
const arbMessageId = fc.oneof(fc.uuid({ version: [7] }), fc.uuid(), arbHex, fc.constant('01ARZ3NDEKTSV4RRFFQ69G5FAV'));
const arbConversationId = fc.oneof(
  arbHex,
  fc
    .tuple(fc.uniqueArray(arbUser, { minLength: 2, maxLength: 2 }), fc.option(arbUser, { nil: null }))
    .map(([pair, job]) => conversationIdFor(pair, job)),
);

function arbMessage(): fc.Arbitrary<MessageDoc> {
  return (
    fc
      .record({
        id: arbMessageId,
        conversation: arbConversationId,
        sender: arbUser,
        recipient: arbUser,
        content: fc.string({ maxLength: 50 }),
        messageType: fc.constantFrom('text', 'file', 'system'),
        attachments: fc.array(fc.record({ filename: fc.string(), url: fc.string(), size: fc.nat(), mimeType: fc.string() }), {
          maxLength: 2,
        }),
        isRead: fc.boolean(),
        readAt: arbIsoOrNull,
        isEdited: fc.boolean(),
        editedAt: arbIsoOrNull,
        isDeleted: fc.boolean(),
        deletedAt: arbIsoOrNull,
        deliveredAt: arbIsoOrNull,
        createdAt: arbIso,
        updatedAt: arbIso,
        seq: fc.nat(),
        sentAt: arbIsoOrNull,
      })
      // The wire schema's rule: isRead ⇔ readAt.
      .map((m) => ({ ...m, readAt: m.isRead ? (m.readAt ?? m.updatedAt) : null })) as fc.Arbitrary<MessageDoc>
  );
}

function arbConversation(): fc.Arbitrary<ConversationDoc> {
  return fc
    .record({
      id: arbConversationId,
      participants: fc.uniqueArray(arbUser, { minLength: 1, maxLength: 3 }).map((p) => [...p].sort()),
      job: fc.option(arbUser, { nil: null }),
      lastMessage: fc.option(arbMessageId, { nil: null }),
      lastActivity: arbIso,
      isActive: fc.boolean(),
      unreadCount: fc.dictionary(arbUser, fc.nat(1000), { maxKeys: 3 }),
      participantNames: fc.dictionary(arbUser, fc.string({ maxLength: 10 }), { maxKeys: 3 }),
      createdAt: arbIso,
      updatedAt: arbIso,
      seq: fc.nat(),
    })
    .map((c) => ({ ...c, unreadCount: { ...c.unreadCount }, participantNames: { ...c.participantNames } }));
}

/** JSON revival of what a lean read returns: ObjectIds and Dates back in their classes. */
function reviveRecord(key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (['_id', 'lastMessage'].includes(key) && /^[0-9a-f]{24}$/.test(value)) return new Types.ObjectId(value);
  if (['lastActivity', 'createdAt', 'updatedAt'].includes(key)) return new Date(value);
  return value;
}
