import type { Collection, Connection } from 'mongoose';
import { FileIdTakenError, type FileRecord, type FileRecordPatch, type FileRecordStore } from '../../files/records';

/** Created on first use, beside the collections prepareDatabase makes. */
export const FILES_COLLECTION = 'messaging_files';

type FileDocument = Omit<FileRecord, 'id'> & { _id: string };

const fromDoc = ({ _id, ...rest }: FileDocument): FileRecord => ({ id: _id, ...rest });

/** File records in their own collection of the messaging database (plain driver calls: no legacy shape to map). */
export class MongoFileRecords implements FileRecordStore {
  private readonly files: Collection<FileDocument>;
  private indexed: Promise<unknown> | null = null;

  constructor(connection: Connection) {
    this.files = connection.collection<FileDocument>(FILES_COLLECTION);
  }

  private ready(): Promise<unknown> {
    this.indexed ??= this.files.createIndexes([{ key: { ownerId: 1, status: 1 } }, { key: { messageId: 1 } }, { key: { updatedAt: 1 } }]);
    return this.indexed;
  }

  async create(record: FileRecord): Promise<void> {
    await this.ready();
    const { id, ...rest } = record;
    try {
      await this.files.insertOne({ _id: id, ...rest });
    } catch (err) {
      if ((err as { code?: number }).code === 11000) throw new FileIdTakenError(id);
      throw err;
    }
  }

  async get(id: string): Promise<FileRecord | null> {
    const doc = await this.files.findOne({ _id: id });
    return doc ? fromDoc(doc) : null;
  }

  async update(id: string, patch: FileRecordPatch): Promise<void> {
    // The driver would write an undefined key as null; "not given" must leave the field alone.
    const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    await this.files.updateOne({ _id: id }, { $set: set });
  }

  async bind(id: string, messageId: string): Promise<boolean> {
    const result = await this.files.updateOne({ _id: id, status: 'ready', messageId: { $in: [null, messageId] } }, { $set: { messageId } });
    return result.matchedCount === 1;
  }

  async expire(id: string, before: string): Promise<boolean> {
    const result = await this.files.updateOne(
      {
        _id: id,
        updatedAt: { $lt: before },
        $or: [{ status: { $in: ['uploading', 'rejected', 'deleted'] } }, { status: 'ready', messageId: null }],
      },
      { $set: { status: 'deleted' } },
    );
    return result.matchedCount === 1;
  }

  async byMessage(messageId: string): Promise<FileRecord[]> {
    return (await this.files.find({ messageId }).toArray()).map(fromDoc);
  }

  async usedBytes(ownerId: string): Promise<number> {
    const [row] = await this.files
      .aggregate<{ total: number }>([
        { $match: { ownerId, status: { $in: ['uploading', 'ready'] } } },
        { $group: { _id: null, total: { $sum: '$size' } } },
      ])
      .toArray();
    return row?.total ?? 0;
  }

  async stale(before: string, limit: number): Promise<FileRecord[]> {
    const docs = await this.files
      .find({
        updatedAt: { $lt: before },
        $or: [{ status: { $in: ['uploading', 'rejected', 'deleted'] } }, { status: 'ready', messageId: null }],
      })
      .sort({ updatedAt: 1 })
      .limit(limit)
      .toArray();
    return docs.map(fromDoc);
  }

  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.files.deleteMany({ _id: { $in: [...ids] } });
  }
}
