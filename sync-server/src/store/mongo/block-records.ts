import type { Collection, Connection } from 'mongoose';
import type { BlockRecord, BlockRecordStore } from '../../blocks/block-records';

/** Created on first use, beside the collections prepareDatabase makes. */
export const BLOCKS_COLLECTION = 'messaging_blocks';

interface BlockDocument {
  /** `${blocker}:${blocked}`: one document per pair, so blocking twice is a no-op. */
  _id: string;
  blocker: string;
  blocked: string;
  blockedAt: string;
}

/** Blocks in their own collection of the messaging database (plain driver calls). */
export class MongoBlockRecords implements BlockRecordStore {
  private readonly blocks: Collection<BlockDocument>;
  private indexed: Promise<unknown> | null = null;

  constructor(connection: Connection) {
    this.blocks = connection.collection<BlockDocument>(BLOCKS_COLLECTION);
  }

  private ready(): Promise<unknown> {
    this.indexed ??= this.blocks.createIndexes([{ key: { blocker: 1, blockedAt: -1 } }, { key: { blocked: 1 } }]);
    return this.indexed;
  }

  async block(blocker: string, blocked: string, at: string): Promise<void> {
    await this.ready();
    await this.blocks.updateOne({ _id: `${blocker}:${blocked}` }, { $setOnInsert: { blocker, blocked, blockedAt: at } }, { upsert: true });
  }

  async unblock(blocker: string, blocked: string): Promise<void> {
    await this.blocks.deleteOne({ _id: `${blocker}:${blocked}` });
  }

  async listBlocked(blocker: string): Promise<BlockRecord[]> {
    await this.ready();
    const docs = await this.blocks.find({ blocker }).sort({ blockedAt: -1, blocked: 1 }).toArray();
    return docs.map((d) => ({ userId: d.blocked, blockedAt: d.blockedAt }));
  }

  async separatedFrom(userId: string): Promise<string[]> {
    await this.ready();
    const docs = await this.blocks
      .find({ $or: [{ blocker: userId }, { blocked: userId }] }, { projection: { blocker: 1, blocked: 1 } })
      .toArray();
    return [...new Set(docs.map((d) => (d.blocker === userId ? d.blocked : d.blocker)))];
  }
}
