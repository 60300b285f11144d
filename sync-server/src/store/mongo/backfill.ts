import type { Model, Types } from 'mongoose';
import { fromRef } from './ids';
import { uniqueRefs } from './mapping';
import { incrementCounter, type MongoStore, runTransaction } from './mongo-store';
import type { ConversationRecord, MessageRecord } from './schemas';

/**
 * Documents written by the old REST API have no `seq` and no `audience`, so no feed holds them
 * and no client can pull them. The backfill gives each one a sequence (through the same counter,
 * in transactions, so it never lands behind a checkpoint already handed out) and the audience
 * the sync service would have given it. Run it once when switching FetchWork's database over,
 * and again if the old API wrote after that; it only touches records without a seq.
 */

type LegacyCollection = 'messages' | 'conversations';
type AudienceFields = Pick<MessageRecord, 'sender' | 'recipient'> & Pick<ConversationRecord, 'participants'>;
type LegacyRecord = { _id: Types.ObjectId } & Partial<AudienceFields>;

export const LEGACY_FILTER = { seq: { $exists: false } } as const;

export function legacyAudience(collection: LegacyCollection, record: Partial<AudienceFields>): string[] {
  const refs = collection === 'messages' ? [record.sender, record.recipient] : (record.participants ?? []);
  return [...new Set(refs.filter((r) => r !== undefined && r !== null).map(fromRef))];
}

export function backfillWrite(collection: LegacyCollection, record: LegacyRecord, seq: number) {
  return {
    updateOne: {
      // Guarded, so a record that gained a seq meanwhile is never renumbered.
      filter: { _id: record._id, ...LEGACY_FILTER },
      update: { $set: { seq, audience: uniqueRefs(legacyAudience(collection, record)) } },
    },
  };
}

export async function backfillLegacyDocuments(
  store: MongoStore,
  options: { batchSize?: number } = {},
): Promise<Record<LegacyCollection, number>> {
  const batchSize = options.batchSize ?? 500;
  const counts: Record<LegacyCollection, number> = { conversations: 0, messages: 0 };
  // Conversations first, so a client never pulls a message before the conversation it belongs to.
  for (const collection of ['conversations', 'messages'] as const) {
    const model = (collection === 'messages' ? store.models.Message : store.models.Conversation) as unknown as Model<LegacyRecord>;
    let after: Types.ObjectId | null = null;
    for (;;) {
      const from: Types.ObjectId | null = after;
      const batch = await runTransaction(store.connection, async (session): Promise<{ count: number; last: Types.ObjectId | null }> => {
        // In _id order from where the last batch ended: one pass over the _id index, not a rescan per batch.
        const filter: Record<string, unknown> = from ? { ...LEGACY_FILTER, _id: { $gt: from } } : { ...LEGACY_FILTER };
        const records: LegacyRecord[] = await model
          .find(filter, { sender: 1, recipient: 1, participants: 1 })
          .sort({ _id: 1 })
          .limit(batchSize)
          .session(session)
          .lean();
        if (records.length === 0) return { count: 0, last: null };
        const counterAfter = await incrementCounter(store.models, records.length, session);
        const first = counterAfter - records.length + 1;
        await model.bulkWrite(records.map((r, i) => backfillWrite(collection, r, first + i)) as never, { session, ordered: true });
        return { count: records.length, last: records[records.length - 1]!._id };
      });
      counts[collection] += batch.count;
      if (batch.last === null || batch.count < batchSize) break;
      after = batch.last;
    }
  }
  return counts;
}
