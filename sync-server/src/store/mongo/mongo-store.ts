import type { CollectionName, ConversationDoc, DocsByCollection, MessageDoc } from '@fetchwork/shared-schema';
import type { ClientSession, Connection, Model, mongo } from 'mongoose';
import type { CommitResult, SyncStore, UserRecord, WriteOp } from '../port';
import { MongoBlockRecords } from './block-records';
import { affectedFeeds, docKey, feedKey, type PlannedWrite, planCommit, type StoredState } from './commit-plan';
import { MongoFileRecords } from './file-records';
import { fromRef, objectIdFor, syncIdOf, toRef } from './ids';
import {
  conversationFromRecord,
  conversationToRecord,
  messageFromRecord,
  messageToRecord,
  recordUpdate,
  type UserUpsert,
  userFromRecord,
  userUpsertUpdate,
} from './mapping';
import { MongoPendingRegistrations } from './pending-registrations';
import { MongoPushRecords } from './push-records';
import {
  byIdsFilter,
  conversationsOfQuery,
  type FindSpec,
  feedBeforeFilter,
  feedBeforeQuery,
  feedHeadQuery,
  feedQuery,
  messagePageQuery,
  newestMessagesPipelines,
  searchQuery,
  unreadFilter,
  usersByIdsFilter,
} from './queries';
import { type ConversationRecord, createModels, type MessageRecord, type MessagingModels, SEQ_COUNTER_ID } from './schemas';
import { MongoSessionRecords } from './session-records';
import { MongoUserProfiles } from './user-profiles';

type AnyRecord = MessageRecord | ConversationRecord;

/**
 * Inside a commit: `local` reads see the previous commit as soon as it is applied on the primary,
 * so the next commit need not wait for its replication before taking the counter; `majority`
 * on commit means no acknowledged (and so broadcast) commit can be rolled back by a failover,
 * which would hand its sequence numbers to other documents behind clients' checkpoints. A
 * commit that read unreplicated data commits after it in the oplog, so it is acknowledged only
 * once that data is majority-committed too.
 */
export const TRANSACTION_OPTIONS: mongo.TransactionOptions = {
  readConcern: { level: 'local' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary',
};

/** Reads outside commits see only majority-committed data, i.e. never a sequence that a failover could reassign. */
const READ_CONCERN = 'majority';

/**
 * Runs `work` in one transaction, retried by the driver on transient errors (write conflicts on
 * the counter, failovers) with jittered backoff; any other error, such as StaleWriteError,
 * aborts it and is rethrown.
 */
export async function runTransaction<T>(connection: Connection, work: (session: ClientSession) => Promise<T>): Promise<T> {
  const session = await connection.startSession();
  try {
    return await session.withTransaction(() => work(session), TRANSACTION_OPTIONS);
  } finally {
    await session.endSession();
  }
}

/** Advances the sequence counter by `count` inside the session's transaction; returns its new value. */
export async function incrementCounter(models: MessagingModels, count: number, session: ClientSession): Promise<number> {
  const counter = await models.Counter.findOneAndUpdate(
    { _id: SEQ_COUNTER_ID },
    { $inc: { value: count } },
    { upsert: true, returnDocument: 'after', session },
  ).lean();
  if (!counter) throw new Error('sequence counter missing after upsert');
  return counter.value;
}

/**
 * The MongoDB adapter. A commit is one multi-document transaction whose first operation
 * increments the counter document; every other commit's increment conflicts with it until it
 * commits (MongoDB aborts the loser with a TransientTransactionError, and withTransaction
 * retries it with backoff), so commits are serialised on the counter and sequence order equals
 * commit order on every instance. See docs/mongodb.md for the cost.
 */
export class MongoStore implements SyncStore {
  /** The Mongoose models, for the connection helper, the backfill and operational scripts. */
  readonly models: MessagingModels;

  constructor(readonly connection: Connection) {
    this.models = createModels(connection);
  }

  private modelOf(collection: CollectionName): Model<AnyRecord> {
    return (collection === 'messages' ? this.models.Message : this.models.Conversation) as unknown as Model<AnyRecord>;
  }

  private fromRecord<C extends CollectionName>(collection: C, record: AnyRecord): DocsByCollection[C] {
    return (
      collection === 'messages' ? messageFromRecord(record as MessageRecord) : conversationFromRecord(record as ConversationRecord)
    ) as DocsByCollection[C];
  }

  private async find<C extends CollectionName>(collection: C, spec: FindSpec): Promise<DocsByCollection[C][]> {
    const query = this.modelOf(collection).find(spec.filter).sort(spec.sort).readConcern(READ_CONCERN);
    if (spec.limit !== undefined) query.limit(spec.limit);
    const records = (await query.lean()) as unknown as AnyRecord[];
    return records.map((r) => this.fromRecord(collection, r));
  }

  async getDocs<C extends CollectionName>(collection: C, ids: readonly string[]): Promise<DocsByCollection[C][]> {
    if (ids.length === 0) return [];
    const wanted = new Set(ids);
    const records = (await this.modelOf(collection).find(byIdsFilter(ids)).readConcern(READ_CONCERN).lean()) as unknown as AnyRecord[];
    // A derived _id is a hash; matching the sync id too makes a collision a miss, never a wrong document.
    return records.filter((r) => wanted.has(syncIdOf(r))).map((r) => this.fromRecord(collection, r));
  }

  async commit(ops: readonly WriteOp[]): Promise<CommitResult> {
    if (ops.length === 0) return { docs: [], feeds: [] };
    return runTransaction(this.connection, async (session) => {
      // First, so a concurrent commit fails fast here instead of after its reads.
      const counterAfter = await incrementCounter(this.models, ops.length, session);
      const stored = await this.readStoredStates(ops, session);
      const heads = await this.readFeedHeads(affectedFeeds(ops, stored), session);
      const plan = planCommit(ops, stored, counterAfter, heads);
      await this.applyWrites(plan.writes, session);
      return plan.result;
    });
  }

  private async readStoredStates(ops: readonly WriteOp[], session: ClientSession): Promise<Map<string, StoredState>> {
    const stored = new Map<string, StoredState>();
    for (const collection of ['messages', 'conversations'] as const) {
      const ids = ops.filter((op) => op.collection === collection).map((op) => op.doc.id);
      if (ids.length === 0) continue;
      const wanted = new Set(ids);
      const records = (await this.modelOf(collection)
        .find(byIdsFilter(ids), { seq: 1, audience: 1, clientId: 1 })
        .session(session)
        .lean()) as unknown as Pick<AnyRecord, '_id' | 'clientId' | 'seq' | 'audience'>[];
      for (const r of records) {
        const id = syncIdOf(r);
        if (wanted.has(id)) stored.set(docKey(collection, id), { seq: r.seq ?? 0, audience: (r.audience ?? []).map(fromRef) });
      }
    }
    return stored;
  }

  private async readFeedHeads(
    feeds: { userId: string; collection: CollectionName }[],
    session: ClientSession,
  ): Promise<Map<string, number>> {
    const heads = new Map<string, number>();
    // Sequential: operations of one session must not overlap.
    for (const { userId, collection } of feeds) {
      const spec = feedHeadQuery(userId);
      const head = (await this.modelOf(collection).findOne(spec.filter, { seq: 1 }).sort(spec.sort).session(session).lean()) as {
        seq?: number;
      } | null;
      heads.set(feedKey(userId, collection), head?.seq ?? 0);
    }
    return heads;
  }

  private async applyWrites(writes: readonly PlannedWrite[], session: ClientSession): Promise<void> {
    for (const collection of ['messages', 'conversations'] as const) {
      const ops = writes
        .filter((w) => w.collection === collection)
        .map((w) => {
          const record =
            collection === 'messages'
              ? messageToRecord(w.doc as MessageDoc, w.audience)
              : conversationToRecord(w.doc as ConversationDoc, w.audience);
          return w.insert
            ? { insertOne: { document: record } }
            : { updateOne: { filter: { _id: record._id }, update: recordUpdate(record) } };
        });
      if (ops.length > 0) await this.modelOf(collection).bulkWrite(ops as never, { session, ordered: true });
    }
  }

  async pullFeed<C extends CollectionName>(userId: string, collection: C, afterSeq: number, limit: number): Promise<DocsByCollection[C][]> {
    return this.find(collection, feedQuery(userId, afterSeq, limit));
  }

  async headSeq(): Promise<number> {
    const counter = await this.models.Counter.findById(SEQ_COUNTER_ID).readConcern(READ_CONCERN).lean();
    return counter?.value ?? 0;
  }

  async feedHead(userId: string, collection: CollectionName): Promise<number> {
    const spec = feedHeadQuery(userId);
    const head = (await this.modelOf(collection).findOne(spec.filter, { seq: 1 }).sort(spec.sort).readConcern(READ_CONCERN).lean()) as {
      seq?: number;
    } | null;
    return head?.seq ?? 0;
  }

  async feedBefore<C extends CollectionName>(
    userId: string,
    collection: C,
    beforeSeq: number,
    limit: number,
  ): Promise<DocsByCollection[C][]> {
    return this.find(collection, feedBeforeQuery(userId, beforeSeq, limit));
  }

  async countFeedBefore(userId: string, collection: CollectionName, beforeSeq: number): Promise<number> {
    return this.modelOf(collection).countDocuments(feedBeforeFilter(userId, beforeSeq)).readConcern(READ_CONCERN);
  }

  async newestMessages(conversationIds: readonly string[], perConversation: number, beforeSeq: number): Promise<MessageDoc[]> {
    const wanted = new Set(conversationIds);
    const chunks = await Promise.all(
      newestMessagesPipelines(conversationIds, perConversation, beforeSeq).map((pipeline) =>
        this.models.Message.aggregate<MessageRecord>(pipeline).readConcern(READ_CONCERN).exec(),
      ),
    );
    // `conversation` is derived for client ids: a hash collision is a miss, never another conversation's message.
    return chunks
      .flat()
      .map(messageFromRecord)
      .filter((m) => wanted.has(m.conversation));
  }

  async listConversations(userId: string): Promise<ConversationDoc[]> {
    return this.find('conversations', conversationsOfQuery(userId));
  }

  async listMessages(conversationId: string, options: { limit: number; beforeSeq?: number }): Promise<MessageDoc[]> {
    return (await this.find('messages', messagePageQuery(conversationId, options))).reverse();
  }

  async countUnread(userId: string): Promise<number> {
    return this.models.Message.countDocuments(unreadFilter(userId)).readConcern(READ_CONCERN);
  }

  async searchMessages(userId: string, query: string, limit: number): Promise<MessageDoc[]> {
    return this.find('messages', searchQuery(userId, query, limit));
  }

  async getUser(id: string): Promise<UserRecord | null> {
    return (await this.getUsers([id]))[0] ?? null;
  }

  async getUsers(ids: readonly string[]): Promise<UserRecord[]> {
    if (ids.length === 0) return [];
    const users = (await this.models.User.find(usersByIdsFilter(ids)).lean()).map(userFromRecord);
    const byId = new Map(users.map((u) => [u.id, u]));
    return [...new Set(ids)].flatMap((id) => byId.get(id) ?? []);
  }

  async getUserByEmail(email: string): Promise<UserRecord | null> {
    const record = await this.models.User.findOne({ email: email.toLowerCase() }).lean();
    return record ? userFromRecord(record) : null;
  }

  async upsertUser(user: UserUpsert): Promise<void> {
    const { filter, update } = userUpsertUpdate(user);
    await this.models.User.updateOne(filter, update, { upsert: true });
  }

  private files: MongoFileRecords | null = null;

  fileRecords(): MongoFileRecords {
    this.files ??= new MongoFileRecords(this.connection);
    return this.files;
  }

  private profiles: MongoUserProfiles | null = null;

  userProfiles(): MongoUserProfiles {
    this.profiles ??= new MongoUserProfiles(this.connection);
    return this.profiles;
  }

  private pushStore: MongoPushRecords | null = null;

  pushRecords(): MongoPushRecords {
    this.pushStore ??= new MongoPushRecords(this.connection);
    return this.pushStore;
  }

  private sessions: MongoSessionRecords | null = null;

  sessionRecords(): MongoSessionRecords {
    this.sessions ??= new MongoSessionRecords(this.connection);
    return this.sessions;
  }

  private pending: MongoPendingRegistrations | null = null;

  pendingRegistrations(): MongoPendingRegistrations {
    this.pending ??= new MongoPendingRegistrations(this.connection);
    return this.pending;
  }

  private blocks: MongoBlockRecords | null = null;

  blockRecords(): MongoBlockRecords {
    this.blocks ??= new MongoBlockRecords(this.connection);
    return this.blocks;
  }

  async conversationWriters(conversations: readonly Pick<ConversationDoc, 'id' | 'participants'>[]): Promise<Map<string, string[]>> {
    // One indexed probe (messaging_conversation_sender) per participant, all in flight at once.
    const probes = conversations.flatMap((c) =>
      c.participants.map(async (p) => {
        const found = await this.models.Message.exists({ conversation: objectIdFor(c.id), sender: toRef(p) }).readConcern(READ_CONCERN);
        return found ? [c.id, p] : null;
      }),
    );
    const writers = new Map<string, string[]>();
    for (const hit of await Promise.all(probes)) {
      if (!hit) continue;
      const [id, p] = hit as [string, string];
      writers.set(id, [...(writers.get(id) ?? []), p]);
    }
    return writers;
  }

  async ping(): Promise<void> {
    const db = this.connection.db;
    if (!db) throw new Error('MongoDB connection is not open');
    await db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
