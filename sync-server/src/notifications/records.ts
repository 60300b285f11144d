import type { NotificationPreview, NotificationSettings } from '@fetchwork/shared-schema';

/** One browser's PushSubscription, owned by the user (and session) that registered it last. */
export interface PushSubscriptionRecord {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  userId: string;
  /** The session the registering token belonged to (AuthUser.sessionId): sign-out removes it. */
  sessionId: string | null;
  createdAt: string;
  lastSuccessAt: string | null;
  /** Deliveries given up on since the last success. */
  failures: number;
}

export interface SettingsChange {
  previews?: NotificationPreview;
  mute?: { conversationId: string; muted: boolean };
}

/** What a user who never changed anything has. */
export const DEFAULT_NOTIFICATION_SETTINGS: NotificationSettings = { previews: 'full', muted: [], updatedAt: new Date(0).toISOString() };

/**
 * The notification records port: subscriptions and per-user settings. SQLite and MongoDB
 * adapters implement it beside their SyncStore (one database); test/notifications/records-contract.ts
 * is their shared suite.
 */
export interface PushRecordStore {
  /**
   * Stores the subscription under its endpoint, replacing whatever was there (the same device
   * subscribing again, or another user signing in on that browser), then removes the user's
   * oldest subscriptions beyond `maxPerUser`. Answers the endpoints removed for the bound.
   */
  upsertSubscription(record: PushSubscriptionRecord, maxPerUser: number): Promise<string[]>;
  getSubscription(endpoint: string): Promise<PushSubscriptionRecord | null>;
  /** Oldest first. */
  subscriptionsOf(userId: string): Promise<PushSubscriptionRecord[]>;
  /** Removes the subscription only if `userId` owns it (when given). Answers how many went. */
  removeSubscription(endpoint: string, userId?: string): Promise<number>;
  removeSessionSubscriptions(sessionId: string): Promise<number>;
  removeUserSubscriptions(userId: string): Promise<number>;
  recordSuccess(endpoint: string, at: string): Promise<void>;
  recordFailure(endpoint: string): Promise<void>;
  /** Null when the user never changed a setting. */
  getSettings(userId: string): Promise<NotificationSettings | null>;
  /** Applies one change atomically (concurrent changes from two devices both stand). */
  updateSettings(userId: string, change: SettingsChange, at: string): Promise<NotificationSettings>;
}
