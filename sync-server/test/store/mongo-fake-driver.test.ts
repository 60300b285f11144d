import { conversationIdFor, type MessageDoc } from '@fetchwork/shared-schema';
import mongoose, { type Model, Types } from 'mongoose';
import { afterEach, describe, expect, it } from 'vitest';
import { backfillLegacyDocuments } from '../../src/store/mongo/backfill';
import { prepareDatabase } from '../../src/store/mongo/connect';
import { objectIdFor } from '../../src/store/mongo/ids';
import { MongoStore, TRANSACTION_OPTIONS } from '../../src/store/mongo/mongo-store';
import { COLLECTION_NAMES, MESSAGE_INDEXES } from '../../src/store/mongo/schemas';
import { draftConversation, draftMessage } from '../support/docs';
import { registerStorageContractTests } from './storage-contract';

/**
 * MongoStore driven through real Mongoose (schemas, casting, query building) down to the
 * driver's collection methods, which are replaced here by a small in-memory engine. It proves
 * the adapter's logic and what it sends to the driver; it proves nothing about MongoDB itself
 * (transactions, write conflicts, index use): that is mongo-store.test.ts with MONGODB_URI.
 */

type Doc = Record<string, any>;

interface Call {
  collection: string;
  op: string;
  session: object | null;
  options: Doc;
  args: unknown[];
}

class FakeDatabase {
  data = new Map<string, Map<string, Doc>>();
  indexes = new Map<string, { fields: Doc; options: Doc }[]>();
  calls: Call[] = [];
  transactions: { options: unknown; outcome: 'committed' | 'aborted' }[] = [];

  table(name: string): Map<string, Doc> {
    const existing = this.data.get(name);
    if (existing) return existing;
    const created = new Map<string, Doc>();
    this.data.set(name, created);
    return created;
  }

  snapshot(): Map<string, Map<string, Doc>> {
    return new Map([...this.data].map(([k, v]) => [k, new Map(v)]));
  }
}

const databases = new Map<string, FakeDatabase>();

// --- value semantics close enough to BSON for these queries -----------------------------

function toStored(value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (value instanceof Types.ObjectId || value instanceof Date) return value;
  if (typeof (value as { toBSON?: unknown }).toBSON === 'function') return toStored((value as { toBSON(): unknown }).toBSON());
  if (value instanceof Map) return toStored(Object.fromEntries(value));
  if (Array.isArray(value)) return value.map(toStored);
  if (typeof value === 'object') {
    const out: Doc = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toStored(v);
    return out;
  }
  return value;
}

const canon = (v: unknown): string => {
  if (v === undefined || v === null) return 'null';
  if (v instanceof Types.ObjectId) return `o:${v.toHexString()}`;
  if (v instanceof Date) return `d:${v.getTime()}`;
  return `${typeof v}:${JSON.stringify(v)}`;
};

const typeRank = (v: unknown): number => {
  if (v === undefined || v === null) return 1;
  if (typeof v === 'number') return 2;
  if (typeof v === 'string') return 3;
  if (v instanceof Types.ObjectId) return 7;
  if (typeof v === 'boolean') return 8;
  if (v instanceof Date) return 9;
  return 4;
};

function compare(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number') return a - (b as number);
  if (a instanceof Date) return a.getTime() - (b as Date).getTime();
  if (a instanceof Types.ObjectId) return a.toHexString().localeCompare((b as Types.ObjectId).toHexString());
  if (typeof a === 'string') return a < (b as string) ? -1 : a > (b as string) ? 1 : 0;
  return 0;
}

function matchesCondition(value: unknown, cond: unknown): boolean {
  const candidates = Array.isArray(value) ? [value, ...value] : [value];
  const isOperator =
    cond !== null &&
    typeof cond === 'object' &&
    !(cond instanceof Types.ObjectId) &&
    !(cond instanceof Date) &&
    Object.keys(cond).some((k) => k.startsWith('$'));
  if (!isOperator) return candidates.some((c) => canon(c) === canon(cond));
  const ops = cond as Doc;
  return Object.entries(ops).every(([op, arg]) => {
    switch (op) {
      case '$in':
        return candidates.some((c) => (arg as unknown[]).some((a) => canon(a) === canon(c)));
      case '$ne':
        return !candidates.some((c) => canon(c) === canon(arg));
      case '$gt':
        return candidates.some((c) => typeRank(c) === typeRank(arg) && compare(c, arg) > 0);
      case '$lt':
        return candidates.some((c) => typeRank(c) === typeRank(arg) && compare(c, arg) < 0);
      case '$exists':
        return (value !== undefined) === arg;
      case '$type':
        return candidates.some((c) => (arg === 'number' ? typeof c === 'number' : arg === 'string' ? typeof c === 'string' : false));
      case '$regex':
        return candidates.some((c) => typeof c === 'string' && new RegExp(arg as string, ops.$options ?? '').test(c));
      case '$options':
        return true;
      default:
        throw new Error(`fake driver: unsupported operator ${op}`);
    }
  });
}

const matches = (doc: Doc, filter: Doc) => Object.entries(filter).every(([field, cond]) => matchesCondition(doc[field], cond));

function sortDocs(docs: Doc[], sort: Doc | undefined): Doc[] {
  if (!sort) return docs;
  return [...docs].sort((a, b) => {
    for (const [field, dir] of Object.entries(sort)) {
      const c = compare(a[field], b[field]);
      if (c !== 0) return c * (dir as number);
    }
    return 0;
  });
}

function applyUpdate(doc: Doc, update: Doc, inserting: boolean): Doc {
  const next: Doc = { ...doc };
  for (const [op, fields] of Object.entries(update)) {
    for (const [field, value] of Object.entries(fields as Doc)) {
      if (op === '$set' || (op === '$setOnInsert' && inserting)) next[field] = toStored(value);
      else if (op === '$unset') delete next[field];
      else if (op === '$inc') next[field] = (next[field] ?? 0) + (value as number);
      else if (op !== '$setOnInsert') throw new Error(`fake driver: unsupported update ${op}`);
    }
  }
  return next;
}

function duplicateKey(message: string): Error {
  return Object.assign(new Error(`E11000 duplicate key error: ${message}`), { code: 11000, name: 'MongoServerError' });
}

/** Replaces the driver methods of one Mongoose collection with the engine above. */
function patchCollection(model: Model<any>, db: FakeDatabase): void {
  const name = model.collection.collectionName;
  const table = () => db.table(name);
  const log = (op: string, options: Doc | undefined, ...args: unknown[]) =>
    db.calls.push({ collection: name, op, session: (options?.session as object | undefined) ?? null, options: options ?? {}, args });
  const find = (filter: Doc, options: Doc = {}) => {
    let docs = sortDocs(
      [...table().values()].filter((d) => matches(d, filter)),
      options.sort,
    );
    if (options.limit) docs = docs.slice(0, options.limit);
    return docs.map((d) => copyDoc(d));
  };
  const checkUnique = (doc: Doc, ignoreKey: string | null) => {
    for (const { fields, options } of db.indexes.get(name) ?? []) {
      if (!options.unique) continue;
      const field = Object.keys(fields)[0]!;
      if (typeof doc[field] !== 'string') continue;
      for (const [key, other] of table()) if (key !== ignoreKey && other[field] === doc[field]) throw duplicateKey(`${name}.${field}`);
    }
  };
  const insert = (document: unknown) => {
    const doc = toStored(document) as Doc;
    const key = canon(doc._id);
    if (table().has(key)) throw duplicateKey(`${name}._id`);
    checkUnique(doc, null);
    table().set(key, doc);
  };
  const update = (filter: Doc, upd: Doc, upsert: boolean) => {
    const [key, current] = [...table()].find(([, d]) => matches(d, filter)) ?? [null, null];
    if (current && key) {
      const next = applyUpdate(current, upd, false);
      checkUnique(next, key);
      table().set(key, next);
      return { matched: 1, upserted: 0, doc: next };
    }
    if (!upsert) return { matched: 0, upserted: 0, doc: null };
    const seed = Object.fromEntries(
      Object.entries(filter).filter(([, v]) => !(v && typeof v === 'object' && !(v instanceof Types.ObjectId))),
    );
    const doc = applyUpdate(seed, upd, true);
    if (doc._id === undefined) doc._id = new Types.ObjectId();
    insert(doc);
    return { matched: 0, upserted: 1, doc };
  };
  const c = model.collection as unknown as Doc;
  c.find = (filter: Doc, options?: Doc) => {
    log('find', options, filter);
    const docs = find(filter, options);
    return { toArray: async () => docs, close: async () => undefined };
  };
  // The stages the adapter's pipelines use; a $unionWith reads its collection by name.
  const runPipeline = (docs: Doc[], pipeline: Doc[]): Doc[] =>
    pipeline.reduce((acc: Doc[], stage: Doc) => {
      const [op, arg] = Object.entries(stage)[0]!;
      switch (op) {
        case '$match':
          return acc.filter((d) => matches(d, arg));
        case '$sort':
          return sortDocs(acc, arg);
        case '$limit':
          return acc.slice(0, arg);
        case '$unionWith':
          return acc.concat(runPipeline([...db.table(arg.coll).values()], arg.pipeline ?? []));
        default:
          throw new Error(`fake driver: unsupported stage ${op}`);
      }
    }, docs);
  c.aggregate = (pipeline: Doc[], options?: Doc) => {
    log('aggregate', options, pipeline);
    const docs = runPipeline([...table().values()], pipeline).map((d) => copyDoc(d));
    return { toArray: async () => docs, close: async () => undefined };
  };
  c.findOne = async (filter: Doc, options?: Doc) => {
    log('findOne', options, filter);
    return find(filter, { ...options, limit: 1 })[0] ?? null;
  };
  c.countDocuments = async (filter: Doc, options?: Doc) => {
    log('countDocuments', options, filter);
    return find(filter).length;
  };
  c.findOneAndUpdate = async (filter: Doc, upd: Doc, options?: Doc) => {
    log('findOneAndUpdate', options, filter, upd);
    const before = find(filter)[0] ?? null;
    const r = update(filter, upd, options?.upsert === true);
    return options?.returnDocument === 'after' ? r.doc && copyDoc(r.doc) : before;
  };
  c.updateOne = async (filter: Doc, upd: Doc, options?: Doc) => {
    log('updateOne', options, filter, upd);
    const r = update(filter, upd, options?.upsert === true);
    return { acknowledged: true, matchedCount: r.matched, modifiedCount: r.matched, upsertedCount: r.upserted, upsertedId: null };
  };
  c.bulkWrite = async (ops: Doc[], options?: Doc) => {
    log('bulkWrite', options, ops);
    let inserted = 0;
    let matched = 0;
    for (const op of ops) {
      if (op.insertOne) {
        insert(op.insertOne.document);
        inserted++;
      } else if (op.updateOne) {
        matched += update(op.updateOne.filter, op.updateOne.update, op.updateOne.upsert === true).matched;
      } else throw new Error(`fake driver: unsupported bulk op ${Object.keys(op)}`);
    }
    return {
      insertedCount: inserted,
      matchedCount: matched,
      modifiedCount: matched,
      deletedCount: 0,
      upsertedCount: 0,
      insertedIds: {},
      upsertedIds: {},
    };
  };
  c.createIndex = async (fields: Doc, options: Doc) => {
    log('createIndex', options, fields);
    const list = db.indexes.get(name) ?? [];
    const sameKeys = list.find((i) => JSON.stringify(i.fields) === JSON.stringify(fields));
    if (sameKeys && sameKeys.options.name !== options.name) {
      throw Object.assign(new Error('Index already exists with a different name'), { code: 85 });
    }
    if (!sameKeys) db.indexes.set(name, [...list, { fields, options }]);
    return options.name;
  };
  (model as unknown as Doc).createCollection = async () => {
    log('createCollection', {});
    table();
  };
}

/** Reads hand out copies, as a driver does: the caller can never mutate what is stored. */
function copyDoc(doc: Doc): Doc {
  const copy = (v: unknown): unknown => {
    if (v instanceof Types.ObjectId) return new Types.ObjectId(v.toHexString());
    if (v instanceof Date) return new Date(v.getTime());
    if (Array.isArray(v)) return v.map(copy);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)]));
    return v;
  };
  return copy(doc) as Doc;
}

function fakeStore(dbName: string): { store: MongoStore; db: FakeDatabase } {
  const fake = databases.get(dbName) ?? new FakeDatabase();
  databases.set(dbName, fake);
  const connection = mongoose.createConnection();
  const store = new MongoStore(connection);
  for (const model of Object.values(store.models)) patchCollection(model as Model<any>, fake);
  let active = false;
  const session = {
    inTransaction: () => active,
    async withTransaction<T>(fn: () => Promise<T>, options: unknown): Promise<T> {
      const before = fake.snapshot();
      active = true;
      try {
        const result = await fn();
        fake.transactions.push({ options, outcome: 'committed' });
        return result;
      } catch (err) {
        fake.data = before;
        fake.transactions.push({ options, outcome: 'aborted' });
        throw err;
      } finally {
        active = false;
      }
    },
    async endSession() {},
  };
  (connection as unknown as Doc).startSession = async () => session;
  return { store, db: fake };
}

let nextDb = 0;

registerStorageContractTests('MongoStore on an in-memory FAKE driver (logic + Mongoose casting only, not MongoDB)', async () => {
  const name = `fake-${nextDb++}`;
  let { store } = fakeStore(name);
  const harness = {
    store,
    async reopen() {
      await store.close();
      store = fakeStore(name).store;
      harness.store = store;
      return store;
    },
    async destroy() {
      await store.close();
      databases.delete(name);
    },
  };
  return harness;
});

const A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbb';

function sync(dbName: string) {
  const { store, db } = fakeStore(dbName);
  const { _deleted, ...conv } = draftConversation(A, B);
  const message = (content: string): MessageDoc => {
    const { _deleted: _d, ...m } = draftMessage(conv.id, A, B, content);
    return m;
  };
  return { store, db, conv, message };
}

describe('MongoStore on the fake driver: what it sends', () => {
  afterEach(() => databases.clear());

  it('a commit is one transaction with the documented options; its first operation is the counter increment; every operation carries the session', async () => {
    const { store, db, conv, message } = sync('calls');
    await store.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: conv.participants }]);
    db.calls = [];
    await store.commit([{ collection: 'messages', doc: message('hi'), expectedSeq: null, audience: [A, B] }]);
    expect(db.transactions.at(-1)).toEqual({ options: TRANSACTION_OPTIONS, outcome: 'committed' });
    expect(TRANSACTION_OPTIONS).toMatchObject({ writeConcern: { w: 'majority' } });
    expect(db.calls[0]).toMatchObject({
      collection: COLLECTION_NAMES.counters,
      op: 'findOneAndUpdate',
      args: [{ _id: 'seq' }, { $inc: { value: 1 } }],
    });
    expect(db.calls.every((c) => c.session !== null)).toBe(true);
    expect(db.calls.at(-1)).toMatchObject({ collection: 'messages', op: 'bulkWrite' });
    // The heads of both audience members were read from the feed index, inside the transaction.
    expect(db.calls.filter((c) => c.op === 'findOne').map((c) => c.args[0])).toEqual([
      { audience: new Types.ObjectId(A), seq: { $type: 'number' } },
      { audience: new Types.ObjectId(B), seq: { $type: 'number' } },
    ]);
  });

  it('a stale write aborts the transaction and leaves counter and documents as they were', async () => {
    const { store, db, conv, message } = sync('stale');
    await store.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: conv.participants }]);
    const before = JSON.stringify([...db.data].map(([k, v]) => [k, [...v.values()]]));
    await expect(
      store.commit([
        { collection: 'messages', doc: message('x'), expectedSeq: null, audience: [A, B] },
        { collection: 'conversations', doc: conv, expectedSeq: 0, audience: [A, B] },
      ]),
    ).rejects.toMatchObject({ name: 'StaleWriteError' });
    expect(db.transactions.at(-1)?.outcome).toBe('aborted');
    expect(JSON.stringify([...db.data].map(([k, v]) => [k, [...v.values()]]))).toBe(before);
  });

  it('reads outside commits ask for majority-committed data and use the documented sorts and limits', async () => {
    const { store, db } = sync('reads');
    await store.pullFeed(A, 'messages', 3, 25);
    await store.listMessages(conversationIdFor([A, B], null), { limit: 10 });
    await store.countUnread(B);
    await store.headSeq();
    const reads = db.calls.filter((c) => ['find', 'findOne', 'countDocuments'].includes(c.op));
    expect(reads).toHaveLength(4);
    for (const r of reads) expect(r.options.readConcern).toEqual({ level: 'majority' });
    expect(reads[0]!.options).toMatchObject({ sort: { seq: 1 }, limit: 25 });
    expect(reads[1]!.options).toMatchObject({ sort: { seq: -1 }, limit: 10 });
  });

  it('recent-first reads ask for majority-committed data; newest messages of many conversations is one aggregation per chunk', async () => {
    const { store, db } = sync('recent-first');
    const ids = Array.from({ length: 250 }, (_, i) => conversationIdFor([A, `user${i}`], null));
    await store.feedHead(A, 'messages');
    await store.feedBefore(A, 'conversations', 40, 30);
    await store.countFeedBefore(A, 'messages', 40);
    await store.newestMessages(ids, 20, 41);
    const reads = db.calls.filter((c) => ['find', 'findOne', 'countDocuments', 'aggregate'].includes(c.op));
    expect(reads.map((r) => [r.collection, r.op])).toEqual([
      ['messages', 'findOne'],
      ['conversations', 'find'],
      ['messages', 'countDocuments'],
      ['messages', 'aggregate'],
      ['messages', 'aggregate'],
      ['messages', 'aggregate'],
    ]);
    for (const r of reads) expect(r.options.readConcern).toEqual({ level: 'majority' });
    expect(reads[1]!.options).toMatchObject({ sort: { seq: -1 }, limit: 30 });
    expect(reads[1]!.args[0]).toEqual({ audience: new Types.ObjectId(A), seq: { $lt: 40 } });
    expect(reads[2]!.args[0]).toEqual({ audience: new Types.ObjectId(A), seq: { $lt: 40 } });
  });

  it('stored documents have FetchWork’s field names and ObjectId refs, plus only the documented additions', async () => {
    const { store, db, conv, message } = sync('shape');
    const m = message('shape');
    await store.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: conv.participants }]);
    await store.commit([{ collection: 'messages', doc: m, expectedSeq: null, audience: [A, B] }]);
    const stored = [...db.table('messages').values()][0]!;
    expect(Object.keys(stored).sort()).toEqual(
      [
        '_id',
        'clientId',
        'conversation',
        'conversationClientId',
        'sender',
        'recipient',
        'content',
        'messageType',
        'attachments',
        'isRead',
        'readAt',
        'isEdited',
        'editedAt',
        'isDeleted',
        'deletedAt',
        'deliveredAt',
        'createdAt',
        'updatedAt',
        'seq',
        'sentAt',
        'audience',
      ].sort(),
    );
    expect(stored.sender).toBeInstanceOf(Types.ObjectId);
    expect(stored.conversation).toBeInstanceOf(Types.ObjectId);
    expect(stored.createdAt).toBeInstanceOf(Date);
    const storedConv = [...db.table('conversations').values()][0]!;
    expect(storedConv.participants.every((p: unknown) => p instanceof Types.ObjectId)).toBe(true);
    expect(storedConv.unreadCount).toEqual({});
    expect(stored.conversation.equals(storedConv._id)).toBe(true);
  });
});

describe('MongoStore on the fake driver: legacy FetchWork documents', () => {
  afterEach(() => databases.clear());

  it('are read, listed and counted as they are, become pullable after the backfill, and keep unknown fields on update', async () => {
    const { store, db } = sync('legacy');
    const convId = new Types.ObjectId();
    const msgIds = [new Types.ObjectId(), new Types.ObjectId()];
    const at = (s: string) => new Date(`2024-05-01T0${s}:00:00.000Z`);
    db.table('conversations').set(`o:${convId.toHexString()}`, {
      _id: convId,
      participants: [new Types.ObjectId(B), new Types.ObjectId(A)],
      lastMessage: msgIds[1],
      lastActivity: at('2'),
      isActive: true,
      unreadCount: { [B]: 2 },
      createdAt: at('1'),
      updatedAt: at('2'),
      __v: 0,
    });
    msgIds.forEach((_id, i) => {
      db.table('messages').set(`o:${_id.toHexString()}`, {
        _id,
        conversation: convId,
        sender: new Types.ObjectId(A),
        recipient: new Types.ObjectId(B),
        content: `legacy ${i}`,
        messageType: 'text',
        attachments: [],
        isRead: false,
        isEdited: false,
        isDeleted: false,
        createdAt: at(String(i + 1)),
        updatedAt: at(String(i + 1)),
        __v: 0,
      });
    });
    const legacyId = msgIds[0]!.toHexString();
    const [first] = await store.getDocs('messages', [legacyId]);
    expect(first).toMatchObject({ id: legacyId, conversation: convId.toHexString(), seq: 0, sentAt: at('1').toISOString() });
    expect((await store.listConversations(A)).map((c) => [c.id, c.lastMessage])).toEqual([
      [convId.toHexString(), msgIds[1]!.toHexString()],
    ]);
    expect((await store.listMessages(convId.toHexString(), { limit: 10 })).map((m) => m.content)).toEqual(['legacy 0', 'legacy 1']);
    expect(await store.countUnread(B)).toBe(2);
    expect(await store.pullFeed(B, 'messages', 0, 10)).toEqual([]);

    expect(await backfillLegacyDocuments(store, { batchSize: 1 })).toEqual({ conversations: 1, messages: 2 });
    expect(await backfillLegacyDocuments(store)).toEqual({ conversations: 0, messages: 0 });
    const pulledConv = await store.pullFeed(A, 'conversations', 0, 10);
    expect(pulledConv.map((c) => [c.id, c.seq])).toEqual([[convId.toHexString(), 1]]);
    const pulled = await store.pullFeed(B, 'messages', 0, 10);
    expect(pulled.map((m) => [m.content, m.seq])).toEqual([
      ['legacy 0', 2],
      ['legacy 1', 3],
    ]);
    expect(await store.headSeq()).toBe(3);

    const read = { ...pulled[0]!, isRead: true, readAt: '2024-05-02T00:00:00.000Z', deliveredAt: '2024-05-02T00:00:00.000Z' };
    const r = await store.commit([{ collection: 'messages', doc: read, expectedSeq: 2, audience: [A, B] }]);
    expect(r.feeds.map((f) => [f.userId, f.prevSeq])).toEqual([
      [A, 3],
      [B, 3],
    ]);
    const raw = db.table('messages').get(`o:${legacyId}`)!;
    expect(raw.__v).toBe(0);
    expect(raw.isRead).toBe(true);
    expect(raw.seq).toBe(4);
    expect(raw).not.toHaveProperty('clientId');
    expect(raw.sender).toBeInstanceOf(Types.ObjectId);
    expect(await store.countUnread(B)).toBe(1);
    expect((await store.pullFeed(B, 'messages', 3, 10)).map((m) => m.id)).toEqual([legacyId]);
  });

  it('a derived _id that some other document holds is a miss, never that document: reads skip it, a create fails on the key', async () => {
    const { store, db, message } = sync('collision');
    const m = message('mine');
    const _id = objectIdFor(m.id);
    db.table('messages').set(`o:${_id.toHexString()}`, {
      _id,
      clientId: 'someone-else',
      conversation: new Types.ObjectId(),
      sender: A,
      recipient: B,
      content: 'theirs',
      seq: 9,
    });
    expect(await store.getDocs('messages', [m.id])).toEqual([]);
    await expect(store.commit([{ collection: 'messages', doc: m, expectedSeq: null, audience: [A, B] }])).rejects.toMatchObject({
      code: 11000,
    });
    expect(db.table('messages').get(`o:${_id.toHexString()}`)?.content).toBe('theirs');
  });

  it('a sync message in a legacy conversation references it by its ObjectId', async () => {
    const { store, db } = sync('mixed');
    const convId = new Types.ObjectId();
    db.table('conversations').set(`o:${convId.toHexString()}`, {
      _id: convId,
      participants: [new Types.ObjectId(A), new Types.ObjectId(B)],
      createdAt: new Date(),
    });
    const { _deleted, ...m } = draftMessage(convId.toHexString(), A, B, 'new in old');
    await store.commit([{ collection: 'messages', doc: m, expectedSeq: null, audience: [A, B] }]);
    const raw = [...db.table('messages').values()][0]!;
    expect(raw.conversation.equals(convId)).toBe(true);
    expect(raw).not.toHaveProperty('conversationClientId');
    expect(raw.clientId).toBe(m.id);
    expect((await store.listMessages(convId.toHexString(), { limit: 5 })).map((x) => x.id)).toEqual([m.id]);
  });
});

describe('prepareDatabase on the fake driver', () => {
  afterEach(() => databases.clear());

  it('creates collections, indexes and the counter once; accepts an equivalent index under another name; never resets the counter', async () => {
    const { store, db } = fakeStore('prepare');
    db.indexes.set('messages', [{ fields: { recipient: 1, isRead: 1, isDeleted: 1 }, options: { name: 'fetchwork_unread' } }]);
    await prepareDatabase(store);
    expect(
      db.calls
        .filter((c) => c.op === 'createCollection')
        .map((c) => c.collection)
        .sort(),
    ).toEqual(Object.values(COLLECTION_NAMES).sort());
    expect(db.indexes.get('messages')!.map((i) => i.options.name)).toEqual([
      'fetchwork_unread',
      ...MESSAGE_INDEXES.map((i) => i.options.name).filter((n) => n !== 'messaging_unread'),
    ]);
    expect(await store.headSeq()).toBe(0);
    db.table(COLLECTION_NAMES.counters).set('string:"seq"', { _id: 'seq', value: 41 });
    await prepareDatabase(store);
    expect(await store.headSeq()).toBe(41);
  });

  it('refuses to start when a unique index of ours collides with an existing one', async () => {
    const { store, db } = fakeStore('prepare-unique');
    db.indexes.set('messages', [{ fields: { clientId: 1 }, options: { name: 'their_client_id' } }]);
    await expect(prepareDatabase(store)).rejects.toMatchObject({ code: 85 });
  });
});
