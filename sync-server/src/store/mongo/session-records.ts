import type { Collection, Connection } from 'mongoose';
import type { Rotation, SessionEndReason, SessionRecord, SessionRecordStore } from '../../auth/sessions/session-records';

/** Created on first use, beside the collections prepareDatabase makes. */
export const SESSIONS_COLLECTION = 'messaging_sessions';

type SessionDocument = Omit<SessionRecord, 'id'> & { _id: string };

const fromDoc = ({ _id, ...rest }: SessionDocument): SessionRecord => ({ id: _id, ...rest });

/** Sessions in their own collection of the messaging database (plain driver calls). */
export class MongoSessionRecords implements SessionRecordStore {
  private readonly sessions: Collection<SessionDocument>;
  private indexed: Promise<unknown> | null = null;

  constructor(connection: Connection) {
    this.sessions = connection.collection<SessionDocument>(SESSIONS_COLLECTION);
  }

  private ready(): Promise<unknown> {
    this.indexed ??= this.sessions.createIndexes([
      { key: { userId: 1, revokedAt: 1 } },
      { key: { revokedAt: 1 } },
      { key: { expiresAt: 1 } },
    ]);
    return this.indexed;
  }

  async create(record: SessionRecord): Promise<void> {
    await this.ready();
    const { id, ...rest } = record;
    await this.sessions.insertOne({ _id: id, ...rest });
  }

  async get(id: string): Promise<SessionRecord | null> {
    const doc = await this.sessions.findOne({ _id: id });
    return doc ? fromDoc(doc) : null;
  }

  async rotate(id: string, r: Rotation): Promise<boolean> {
    const result = await this.sessions.updateOne(
      { _id: id, tokenHash: r.expectedHash, revokedAt: null },
      { $set: { tokenHash: r.tokenHash, previousHash: r.previousHash, rotatedAt: r.rotatedAt, expiresAt: r.expiresAt } },
    );
    return result.modifiedCount === 1;
  }

  async revoke(id: string, reason: SessionEndReason, at: number): Promise<SessionRecord | null> {
    await this.sessions.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: at, revokedReason: reason } });
    return this.get(id);
  }

  async revokeAllOfUser(userId: string, reason: SessionEndReason, at: number): Promise<string[]> {
    const live = await this.sessions.find({ userId, revokedAt: null }, { projection: { _id: 1 } }).toArray();
    const ids = live.map((d) => d._id);
    if (ids.length > 0)
      await this.sessions.updateMany({ _id: { $in: ids }, revokedAt: null }, { $set: { revokedAt: at, revokedReason: reason } });
    return ids;
  }

  async revokedSince(since: number): Promise<{ id: string; userId: string }[]> {
    const docs = await this.sessions.find({ revokedAt: { $gte: since } }, { projection: { _id: 1, userId: 1 } }).toArray();
    return docs.map((d) => ({ id: d._id, userId: d.userId }));
  }

  async deleteEndedBefore(before: number): Promise<number> {
    const result = await this.sessions.deleteMany({
      $or: [{ revokedAt: { $lt: before } }, { expiresAt: { $lt: before } }, { absoluteExpiresAt: { $lt: before } }],
    });
    return result.deletedCount;
  }
}
