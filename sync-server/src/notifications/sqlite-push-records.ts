import type { NotificationPreview, NotificationSettings } from '@fetchwork/shared-schema';
import type Database from 'better-sqlite3';
import type { PushRecordStore, PushSubscriptionRecord, SettingsChange } from './records';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS push_subscriptions (
  endpoint TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL,
  session_id TEXT,
  p256dh TEXT NOT NULL,
  auth TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_success_at TEXT,
  failures INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS push_subscriptions_by_user ON push_subscriptions (user_id, created_at);
CREATE INDEX IF NOT EXISTS push_subscriptions_by_session ON push_subscriptions (session_id) WHERE session_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS notification_settings (
  user_id TEXT PRIMARY KEY,
  previews TEXT NOT NULL,
  updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS notification_mutes (
  user_id TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  PRIMARY KEY (user_id, conversation_id)
) WITHOUT ROWID;
`;

interface SubscriptionRow {
  endpoint: string;
  user_id: string;
  session_id: string | null;
  p256dh: string;
  auth: string;
  created_at: string;
  last_success_at: string | null;
  failures: number;
}

const fromRow = (r: SubscriptionRow): PushSubscriptionRecord => ({
  endpoint: r.endpoint,
  keys: { p256dh: r.p256dh, auth: r.auth },
  userId: r.user_id,
  sessionId: r.session_id,
  createdAt: r.created_at,
  lastSuccessAt: r.last_success_at,
  failures: r.failures,
});

/** Notification records in the SyncStore's SQLite database (same file, own tables). */
export class SqlitePushRecords implements PushRecordStore {
  private readonly stmt;
  private readonly upsertTx: (record: PushSubscriptionRecord, maxPerUser: number) => string[];
  private readonly settingsTx: (userId: string, change: SettingsChange, at: string) => NotificationSettings;

  constructor(db: Database.Database) {
    db.exec(SCHEMA);
    this.stmt = {
      // REPLACE gives a re-subscribed endpoint a new rowid: it counts as the newest.
      replace: db.prepare(
        `INSERT OR REPLACE INTO push_subscriptions (endpoint, user_id, session_id, p256dh, auth, created_at, last_success_at, failures)
         VALUES (@endpoint, @user_id, @session_id, @p256dh, @auth, @created_at, @last_success_at, @failures)`,
      ),
      byEndpoint: db.prepare<[string], SubscriptionRow>('SELECT * FROM push_subscriptions WHERE endpoint = ?'),
      byUser: db.prepare<[string], SubscriptionRow>('SELECT * FROM push_subscriptions WHERE user_id = ? ORDER BY created_at, rowid'),
      beyond: db.prepare<[string, number], { endpoint: string }>(
        'SELECT endpoint FROM push_subscriptions WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?',
      ),
      remove: db.prepare<[string]>('DELETE FROM push_subscriptions WHERE endpoint = ?'),
      removeOwned: db.prepare<[string, string]>('DELETE FROM push_subscriptions WHERE endpoint = ? AND user_id = ?'),
      removeSession: db.prepare<[string]>('DELETE FROM push_subscriptions WHERE session_id = ?'),
      removeUser: db.prepare<[string]>('DELETE FROM push_subscriptions WHERE user_id = ?'),
      success: db.prepare<[string, string]>('UPDATE push_subscriptions SET last_success_at = ?, failures = 0 WHERE endpoint = ?'),
      failure: db.prepare<[string]>('UPDATE push_subscriptions SET failures = failures + 1 WHERE endpoint = ?'),
      settings: db.prepare<[string], { previews: NotificationPreview; updated_at: string }>(
        'SELECT previews, updated_at FROM notification_settings WHERE user_id = ?',
      ),
      mutes: db.prepare<[string], { conversation_id: string }>(
        'SELECT conversation_id FROM notification_mutes WHERE user_id = ? ORDER BY conversation_id',
      ),
      touch: db.prepare<[string, string]>(
        `INSERT INTO notification_settings (user_id, previews, updated_at) VALUES (?, 'full', ?)
         ON CONFLICT (user_id) DO UPDATE SET updated_at = excluded.updated_at`,
      ),
      setPreviews: db.prepare<[string, string]>('UPDATE notification_settings SET previews = ? WHERE user_id = ?'),
      mute: db.prepare<[string, string]>('INSERT OR IGNORE INTO notification_mutes (user_id, conversation_id) VALUES (?, ?)'),
      unmute: db.prepare<[string, string]>('DELETE FROM notification_mutes WHERE user_id = ? AND conversation_id = ?'),
    };
    this.upsertTx = db.transaction((record: PushSubscriptionRecord, maxPerUser: number) => {
      this.stmt.replace.run({
        endpoint: record.endpoint,
        user_id: record.userId,
        session_id: record.sessionId,
        p256dh: record.keys.p256dh,
        auth: record.keys.auth,
        created_at: record.createdAt,
        last_success_at: record.lastSuccessAt,
        failures: record.failures,
      });
      const removed = this.stmt.beyond.all(record.userId, maxPerUser).map((r) => r.endpoint);
      for (const endpoint of removed) this.stmt.remove.run(endpoint);
      return removed;
    });
    this.settingsTx = db.transaction((userId: string, change: SettingsChange, at: string) => {
      this.stmt.touch.run(userId, at);
      if (change.previews) this.stmt.setPreviews.run(change.previews, userId);
      if (change.mute) (change.mute.muted ? this.stmt.mute : this.stmt.unmute).run(userId, change.mute.conversationId);
      return this.readSettings(userId)!;
    });
  }

  private readSettings(userId: string): NotificationSettings | null {
    const row = this.stmt.settings.get(userId);
    if (!row) return null;
    return { previews: row.previews, muted: this.stmt.mutes.all(userId).map((m) => m.conversation_id), updatedAt: row.updated_at };
  }

  async upsertSubscription(record: PushSubscriptionRecord, maxPerUser: number): Promise<string[]> {
    return this.upsertTx(record, maxPerUser);
  }

  async getSubscription(endpoint: string): Promise<PushSubscriptionRecord | null> {
    const row = this.stmt.byEndpoint.get(endpoint);
    return row ? fromRow(row) : null;
  }

  async subscriptionsOf(userId: string): Promise<PushSubscriptionRecord[]> {
    return this.stmt.byUser.all(userId).map(fromRow);
  }

  async removeSubscription(endpoint: string, userId?: string): Promise<number> {
    return (userId === undefined ? this.stmt.remove.run(endpoint) : this.stmt.removeOwned.run(endpoint, userId)).changes;
  }

  async removeSessionSubscriptions(sessionId: string): Promise<number> {
    return this.stmt.removeSession.run(sessionId).changes;
  }

  async removeUserSubscriptions(userId: string): Promise<number> {
    return this.stmt.removeUser.run(userId).changes;
  }

  async recordSuccess(endpoint: string, at: string): Promise<void> {
    this.stmt.success.run(at, endpoint);
  }

  async recordFailure(endpoint: string): Promise<void> {
    this.stmt.failure.run(endpoint);
  }

  async getSettings(userId: string): Promise<NotificationSettings | null> {
    return this.readSettings(userId);
  }

  async updateSettings(userId: string, change: SettingsChange, at: string): Promise<NotificationSettings> {
    return this.settingsTx(userId, change, at);
  }
}
