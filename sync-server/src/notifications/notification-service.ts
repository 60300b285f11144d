import { ECDH } from 'node:crypto';
import {
  type ConversationDoc,
  MAX_MUTED_CONVERSATIONS,
  type MessageDoc,
  type NotificationSettings,
  type NotificationSettingsPatch,
  type PushSubscriptionJson,
} from '@fetchwork/shared-schema';
import type { AuthUser } from '../auth/tokens';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { SyncStore } from '../store/port';
import { endpointOrigin as originOf } from './delivery';
import { type EndpointPolicy, endpointRefusal } from './endpoint-policy';
import { messagePayload } from './payload';
import type { PushMetrics } from './push-metrics';
import type { PushQueue, PushQueueStats } from './push-queue';
import { DEFAULT_NOTIFICATION_SETTINGS, type PushRecordStore, type PushSubscriptionRecord } from './records';
import type { NotificationState } from './state';

/** Commits waiting for a decision; beyond this the oldest are not notified (a metric counts them). */
const MAX_BACKLOG = 10_000;

interface CommitEvent {
  sender: { id: string; name: string | null };
  /** New messages the pusher sent. */
  created: MessageDoc[];
  /** Messages to the pusher that this commit marked read. */
  read: MessageDoc[];
}

export interface NotificationServiceDeps {
  store: Pick<SyncStore, 'getDocs'>;
  records: PushRecordStore;
  state: NotificationState;
  /** Null when push is off (no VAPID keys): settings still work, nothing is sent. */
  push: { publicKey: string; queue: PushQueue; metrics: PushMetrics } | null;
  endpointPolicy: EndpointPolicy;
  /** Tells every socket of the user, on every instance, their new settings. */
  emitSettings(userId: string, settings: NotificationSettings): void;
  log: Logger;
  maxSubscriptionsPerUser: number;
  clock?: () => Date;
}

/**
 * Web Push for new messages: subscriptions and settings (behind the REST routes), and the decision
 * who is notified of a commit. The decision runs off the commit path: `messagesCommitted` only
 * records the commit; reads of settings, focus and subscriptions happen later, and sending is the
 * queue's.
 */
export class NotificationService {
  private backlog: CommitEvent[] = [];
  private draining: Promise<void> | null = null;
  private readonly clock: () => Date;

  constructor(private readonly deps: NotificationServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  get enabled(): boolean {
    return this.deps.push !== null;
  }

  publicKey(): string {
    return this.requirePush().publicKey;
  }

  async subscribe(user: AuthUser, subscription: PushSubscriptionJson): Promise<{ endpoint: string }> {
    const push = this.requirePush();
    const refusal = endpointRefusal(subscription.endpoint, this.deps.endpointPolicy);
    if (refusal) throw new AppError('VALIDATION_FAILED', `subscription.endpoint: ${refusal}`);
    checkKeys(subscription.keys);
    const record: PushSubscriptionRecord = {
      endpoint: subscription.endpoint,
      keys: { p256dh: subscription.keys.p256dh, auth: subscription.keys.auth },
      userId: user.id,
      sessionId: user.sessionId,
      createdAt: this.clock().toISOString(),
      lastSuccessAt: null,
      failures: 0,
    };
    const removed = await this.deps.records.upsertSubscription(record, this.deps.maxSubscriptionsPerUser);
    if (removed.length > 0) {
      push.queue.dropEndpoints(new Set(removed));
      this.deps.log.info({ userId: user.id, removed: removed.length }, 'oldest push subscriptions removed: too many for one user');
    }
    this.deps.log.info({ userId: user.id, service: originOf(record.endpoint) }, 'push subscription stored');
    return { endpoint: record.endpoint };
  }

  /** Removes the caller's own subscription with this endpoint; another user's is left alone. */
  async unsubscribe(user: AuthUser, endpoint: string): Promise<void> {
    const push = this.requirePush();
    if ((await this.deps.records.removeSubscription(endpoint, user.id)) > 0) push.queue.dropEndpoints(new Set([endpoint]));
  }

  /** For sign-out: the session's devices get no more pushes. Jobs already queued are checked before sending. */
  async removeSubscriptionsForSession(sessionId: string): Promise<number> {
    const removed = await this.deps.records.removeSessionSubscriptions(sessionId);
    if (removed > 0) this.deps.log.info({ removed }, 'push subscriptions of a session removed');
    return removed;
  }

  /** For sign-out everywhere (or an account removed). */
  async removeSubscriptionsForUser(userId: string): Promise<number> {
    const removed = await this.deps.records.removeUserSubscriptions(userId);
    if (removed > 0) this.deps.log.info({ userId, removed }, 'push subscriptions of a user removed');
    return removed;
  }

  async settings(user: AuthUser): Promise<NotificationSettings> {
    return (await this.deps.records.getSettings(user.id)) ?? DEFAULT_NOTIFICATION_SETTINGS;
  }

  async updateSettings(user: AuthUser, patch: NotificationSettingsPatch): Promise<NotificationSettings> {
    if (patch.mute) {
      const { conversationId, muted } = patch.mute;
      const [conversation] = await this.deps.store.getDocs('conversations', [conversationId]);
      // Not a participant answers like a missing conversation: nothing leaks.
      if (!conversation?.participants.includes(user.id)) throw new AppError('NOT_FOUND', 'conversation not found');
      if (muted) {
        const current = await this.settings(user);
        if (!current.muted.includes(conversationId) && current.muted.length >= MAX_MUTED_CONVERSATIONS) {
          throw new AppError('VALIDATION_FAILED', `at most ${MAX_MUTED_CONVERSATIONS} conversations can be muted`);
        }
      }
    }
    const next = await this.deps.records.updateSettings(
      user.id,
      { previews: patch.previews, mute: patch.mute },
      this.clock().toISOString(),
    );
    this.deps.emitSettings(user.id, next);
    return next;
  }

  /**
   * Called by SyncService on the instance that committed these messages (so several instances
   * notify once). Only notes the commit: O(rows), no I/O.
   */
  messagesCommitted(user: AuthUser, written: readonly MessageDoc[], before: ReadonlyMap<string, MessageDoc>): void {
    const push = this.deps.push;
    if (!push) return;
    const created: MessageDoc[] = [];
    const read: MessageDoc[] = [];
    for (const after of written) {
      const prev = before.get(after.id);
      if (!prev) {
        if (after.sender === user.id && !after.isDeleted && !after.isRead) created.push(after);
      } else if (!prev.isRead && after.isRead && after.recipient === user.id) {
        read.push(after);
      }
    }
    if (created.length === 0 && read.length === 0) return;
    this.backlog.push({ sender: { id: user.id, name: user.name }, created, read });
    if (this.backlog.length > MAX_BACKLOG) {
      const lost = this.backlog.shift()!;
      push.metrics.pushes.inc({ outcome: 'dropped' }, lost.created.length);
    }
    this.draining ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  /** Conversations whose notifications the user's focused sockets hold back now (tests, diagnostics). */
  focusedConversations(userId: string): Promise<Set<string>> {
    return this.deps.state.focusedConversations(userId);
  }

  /** The queue's depth and high-water marks (tests, diagnostics); null when push is off. */
  queueStats(): PushQueueStats | null {
    return this.deps.push?.queue.stats() ?? null;
  }

  /** Resolves when every commit seen so far is decided (its pushes queued, not necessarily sent). */
  async decided(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Resolves when every commit seen so far is decided and its pushes are sent or given up. */
  async idle(): Promise<void> {
    await this.decided();
    await this.deps.push?.queue.idle();
  }

  async close(): Promise<void> {
    while (this.draining) await this.draining;
    await this.deps.push?.queue.close();
  }

  private async drain(): Promise<void> {
    try {
      while (this.backlog.length > 0) {
        const batch = this.backlog;
        this.backlog = [];
        await this.decide(batch);
      }
    } catch (err) {
      this.deps.log.error({ err }, 'notification decision failed');
    } finally {
      this.draining = null;
    }
  }

  private async decide(batch: readonly CommitEvent[]): Promise<void> {
    const created = batch.flatMap((e) => e.created.map((message) => ({ message, senderName: e.sender.name })));
    const conversationIds = [...new Set(created.map((c) => c.message.conversation))];
    const conversations = new Map(
      (conversationIds.length > 0 ? await this.deps.store.getDocs('conversations', conversationIds) : []).map((c) => [c.id, c]),
    );
    const recipients = new Map<string, typeof created>();
    for (const c of created) {
      if (c.message.recipient === c.message.sender) continue;
      const list = recipients.get(c.message.recipient) ?? [];
      list.push(c);
      recipients.set(c.message.recipient, list);
    }
    await Promise.all([...recipients].map(([userId, messages]) => this.notify(userId, messages, conversations)));
    const reads = new Map<string, { userId: string; conversationId: string; order: number }>();
    for (const m of batch.flatMap((e) => e.read)) {
      const key = `${m.recipient}\u0000${m.conversation}`;
      reads.set(key, { userId: m.recipient, conversationId: m.conversation, order: Math.max(m.seq, reads.get(key)?.order ?? 0) });
    }
    await Promise.all([...reads.values()].map((r) => this.clear(r.userId, r.conversationId, r.order)));
  }

  private async notify(
    userId: string,
    messages: readonly { message: MessageDoc; senderName: string | null }[],
    conversations: ReadonlyMap<string, ConversationDoc>,
  ): Promise<void> {
    const [subscriptions, settings, focused] = await Promise.all([
      this.deps.records.subscriptionsOf(userId),
      this.deps.records.getSettings(userId),
      this.deps.state.focusedConversations(userId),
    ]);
    if (subscriptions.length === 0) return;
    const muted = new Set(settings?.muted ?? []);
    const previews = settings?.previews ?? DEFAULT_NOTIFICATION_SETTINGS.previews;
    const notified = new Set<string>();
    for (const { message, senderName } of messages) {
      if (muted.has(message.conversation) || focused.has(message.conversation)) continue;
      const payload = messagePayload(message, conversations.get(message.conversation) ?? null, previews, senderName);
      for (const s of subscriptions) {
        this.deps.push!.queue.enqueue({ target: s, userId, conversationId: message.conversation, payload, order: message.seq });
      }
      notified.add(message.conversation);
    }
    if (notified.size > 0) await this.deps.state.markNotified(userId, [...notified]);
  }

  /** The user read the conversation: close its notifications on their devices, if any were shown. */
  private async clear(userId: string, conversationId: string, order: number): Promise<void> {
    if (!(await this.deps.state.takeNotified(userId, conversationId))) return;
    for (const s of await this.deps.records.subscriptionsOf(userId)) {
      this.deps.push!.queue.enqueue({ target: s, userId, conversationId, payload: { kind: 'clear', conversationId }, order });
    }
  }

  private requirePush(): NonNullable<NotificationServiceDeps['push']> {
    if (!this.deps.push) throw new AppError('PUSH_DISABLED', 'this server sends no push notifications (no VAPID keys configured)');
    return this.deps.push;
  }
}

/** The browser's keys must be able to encrypt (RFC 8291): a P-256 point and a 16-byte secret. */
function checkKeys(keys: { p256dh: string; auth: string }): void {
  try {
    ECDH.convertKey(Buffer.from(keys.p256dh, 'base64url'), 'prime256v1', undefined, undefined, 'uncompressed');
    if (Buffer.from(keys.p256dh, 'base64url').length !== 65) throw new Error('not uncompressed');
  } catch {
    throw new AppError('VALIDATION_FAILED', 'subscription.keys.p256dh: must be an uncompressed P-256 public key');
  }
  if (Buffer.from(keys.auth, 'base64url').length !== 16)
    throw new AppError('VALIDATION_FAILED', 'subscription.keys.auth: must be 16 bytes');
}
