import type { NotificationPreview, NotificationSettings } from '@fetchwork/shared-schema';
import type { Collection, Connection } from 'mongoose';
import type { PushRecordStore, PushSubscriptionRecord, SettingsChange } from '../../notifications/records';

/** Created on first use, beside the collections prepareDatabase makes. */
export const PUSH_SUBSCRIPTIONS_COLLECTION = 'messaging_push_subscriptions';
export const NOTIFICATION_SETTINGS_COLLECTION = 'messaging_notification_settings';

type SubscriptionDocument = Omit<PushSubscriptionRecord, 'endpoint'> & { _id: string };
interface SettingsDocument {
  _id: string;
  previews: NotificationPreview;
  muted: string[];
  updatedAt: string;
}

const fromDoc = ({ _id, ...rest }: SubscriptionDocument): PushSubscriptionRecord => ({ endpoint: _id, ...rest });
const settingsOf = (doc: SettingsDocument): NotificationSettings => ({
  previews: doc.previews,
  muted: [...doc.muted].sort(),
  updatedAt: doc.updatedAt,
});

/** Notification records in two collections of the messaging database (plain driver calls). */
export class MongoPushRecords implements PushRecordStore {
  private readonly subscriptions: Collection<SubscriptionDocument>;
  private readonly settings: Collection<SettingsDocument>;
  private indexed: Promise<unknown> | null = null;

  constructor(connection: Connection) {
    this.subscriptions = connection.collection<SubscriptionDocument>(PUSH_SUBSCRIPTIONS_COLLECTION);
    this.settings = connection.collection<SettingsDocument>(NOTIFICATION_SETTINGS_COLLECTION);
  }

  private ready(): Promise<unknown> {
    this.indexed ??= this.subscriptions.createIndexes([
      { key: { userId: 1, createdAt: 1 } },
      { key: { sessionId: 1 }, partialFilterExpression: { sessionId: { $type: 'string' } } },
    ]);
    return this.indexed;
  }

  async upsertSubscription(record: PushSubscriptionRecord, maxPerUser: number): Promise<string[]> {
    await this.ready();
    const { endpoint, ...rest } = record;
    // The endpoint is the _id: two devices racing cannot create duplicates.
    await this.subscriptions.replaceOne({ _id: endpoint }, rest, { upsert: true });
    const beyond = await this.subscriptions
      .find({ userId: record.userId }, { projection: { _id: 1 } })
      .sort({ createdAt: -1, _id: -1 })
      .skip(maxPerUser)
      .toArray();
    const removed = beyond.map((d) => d._id);
    if (removed.length > 0) await this.subscriptions.deleteMany({ _id: { $in: removed }, userId: record.userId });
    return removed;
  }

  async getSubscription(endpoint: string): Promise<PushSubscriptionRecord | null> {
    const doc = await this.subscriptions.findOne({ _id: endpoint });
    return doc ? fromDoc(doc) : null;
  }

  async subscriptionsOf(userId: string): Promise<PushSubscriptionRecord[]> {
    return (await this.subscriptions.find({ userId }).sort({ createdAt: 1, _id: 1 }).toArray()).map(fromDoc);
  }

  async removeSubscription(endpoint: string, userId?: string): Promise<number> {
    const filter = userId === undefined ? { _id: endpoint } : { _id: endpoint, userId };
    return (await this.subscriptions.deleteOne(filter)).deletedCount;
  }

  async removeSessionSubscriptions(sessionId: string): Promise<number> {
    return (await this.subscriptions.deleteMany({ sessionId })).deletedCount;
  }

  async removeUserSubscriptions(userId: string): Promise<number> {
    return (await this.subscriptions.deleteMany({ userId })).deletedCount;
  }

  async recordSuccess(endpoint: string, at: string): Promise<void> {
    await this.subscriptions.updateOne({ _id: endpoint }, { $set: { lastSuccessAt: at, failures: 0 } });
  }

  async recordFailure(endpoint: string): Promise<void> {
    await this.subscriptions.updateOne({ _id: endpoint }, { $inc: { failures: 1 } });
  }

  async getSettings(userId: string): Promise<NotificationSettings | null> {
    const doc = await this.settings.findOne({ _id: userId });
    return doc ? settingsOf(doc) : null;
  }

  async updateSettings(userId: string, change: SettingsChange, at: string): Promise<NotificationSettings> {
    // One atomic update: a mute from one device and a preview change from another both stand.
    const set: Partial<SettingsDocument> = { updatedAt: at };
    const onInsert: Partial<SettingsDocument> = {};
    if (change.previews) set.previews = change.previews;
    else onInsert.previews = 'full';
    const update: Record<string, unknown> = { $set: set };
    if (change.mute?.muted) update.$addToSet = { muted: change.mute.conversationId };
    else if (change.mute) update.$pull = { muted: change.mute.conversationId };
    else onInsert.muted = [];
    // An empty operator is an error before MongoDB 5.0.
    if (Object.keys(onInsert).length > 0) update.$setOnInsert = onInsert;
    const doc = await this.settings.findOneAndUpdate({ _id: userId }, update, { upsert: true, returnDocument: 'after' });
    if (!doc) throw new Error('notification settings missing after upsert');
    return settingsOf({ ...doc, muted: doc.muted ?? [] });
  }
}
