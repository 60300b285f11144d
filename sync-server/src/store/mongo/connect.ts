import mongoose, { type Model } from 'mongoose';
import { MongoStore } from './mongo-store';
import { CONVERSATION_INDEXES, MESSAGE_INDEXES, SEQ_COUNTER_ID, USER_INDEXES } from './schemas';

export interface MongoStoreOptions {
  /** A replica set (or mongos) URI, e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0. */
  uri: string;
  /** Overrides the database named in the URI (FetchWork's database in production). */
  dbName?: string;
  /**
   * Create the collections, this adapter's indexes and the counter document at start (default
   * true). Idempotent; turn it off where an operator builds indexes ahead of deploys.
   */
  prepare?: boolean;
  /** How long to wait for a reachable primary before failing (else the URI's value, else the driver's 30 s). */
  serverSelectionTimeoutMS?: number;
}

export class MongoStoreConfigError extends Error {
  override name = 'MongoStoreConfigError';
}

export interface HelloReply {
  setName?: string;
  msg?: string;
}

/** Why this deployment cannot run the adapter's transactions, or null when it can. */
export function transactionSupportProblem(hello: HelloReply): string | null {
  if (hello.msg === 'isdbgrid' || typeof hello.setName === 'string') return null;
  return (
    'MongoDB is a standalone server, but the sync store commits in multi-document transactions ' +
    '(they keep sequence order equal to commit order) and those need a replica set. Start mongod with ' +
    '--replSet rs0, run rs.initiate() once in mongosh (a single-node replica set is fine in development), ' +
    'and add ?replicaSet=rs0 to MONGODB_URI. See docs/mongodb.md.'
  );
}

const INDEX_OPTIONS_CONFLICT = 85;
const DUPLICATE_KEY = 11000;

const codeOf = (err: unknown): unknown => (typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined);

/**
 * An index on the same keys already exists under another name (FetchWork may have built one):
 * the planner uses it just the same. Not for unique indexes, whose guarantee an existing
 * non-unique index would not give.
 */
export function isToleratedIndexError(err: unknown, options: { unique?: boolean }): boolean {
  return codeOf(err) === INDEX_OPTIONS_CONFLICT && options.unique !== true;
}

async function createIndexes(model: Model<any>, specs: readonly { fields: Record<string, 1 | -1>; options: Record<string, unknown> }[]) {
  for (const spec of specs) {
    try {
      await model.collection.createIndex(spec.fields, spec.options);
    } catch (err) {
      if (!isToleratedIndexError(err, spec.options)) throw err;
    }
  }
}

/**
 * Collections first: a cross-shard transaction cannot create one, and the indexes need them.
 * Indexes are created one by one and never synchronised (syncIndexes would drop FetchWork's
 * own indexes).
 */
export async function prepareDatabase(store: MongoStore): Promise<void> {
  const { Message, Conversation, User, Counter } = store.models;
  for (const model of [Message, Conversation, User, Counter] as Model<any>[]) await model.createCollection();
  await createIndexes(Message, MESSAGE_INDEXES);
  await createIndexes(Conversation, CONVERSATION_INDEXES);
  await createIndexes(User, USER_INDEXES);
  try {
    await Counter.updateOne({ _id: SEQ_COUNTER_ID }, { $setOnInsert: { value: 0 } }, { upsert: true });
  } catch (err) {
    // Another instance starting at the same moment created it.
    if (codeOf(err) !== DUPLICATE_KEY) throw err;
  }
}

/** Connects, checks that transactions are available, prepares the database and returns the store. */
export async function createMongoStore(options: MongoStoreOptions): Promise<MongoStore> {
  const connection = mongoose.createConnection(options.uri, {
    ...(options.dbName ? { dbName: options.dbName } : {}),
    ...(options.serverSelectionTimeoutMS !== undefined ? { serverSelectionTimeoutMS: options.serverSelectionTimeoutMS } : {}),
    autoIndex: false,
    autoCreate: false,
  });
  try {
    await connection.asPromise();
    const db = connection.db;
    if (!db) throw new MongoStoreConfigError('MongoDB connection opened without a database');
    const problem = transactionSupportProblem((await db.admin().command({ hello: 1 })) as HelloReply);
    if (problem) throw new MongoStoreConfigError(problem);
    const store = new MongoStore(connection);
    if (options.prepare !== false) await prepareDatabase(store);
    return store;
  } catch (err) {
    await connection.close().catch(() => undefined);
    throw err;
  }
}
