import { type NotificationPushPayload, notificationPushPayloadSchema } from '@fetchwork/shared-schema';

/** What `registration.showNotification` is called with (renotify is not in every lib's NotificationOptions yet). */
export interface ShownNotification {
  title: string;
  options: NotificationOptions & { renotify: boolean; timestamp?: number; data: NotificationData };
}

export interface NotificationData {
  conversationId: string;
  messageId: string;
}

export const NOTIFICATION_ICON = '/pwa-192x192.png';
export const NOTIFICATION_BADGE = '/favicon.svg';

/** A push's payload, or null for anything that is not one of ours (never shown, never thrown). */
export function parsePushPayload(data: unknown): NotificationPushPayload | null {
  const parsed = notificationPushPayloadSchema.safeParse(data);
  return parsed.success ? (parsed.data as NotificationPushPayload) : null;
}

/**
 * One notification per conversation (tag = conversation id): a burst replaces it instead of
 * stacking, and `renotify` makes the replacement alert again. With private previews the server
 * sends no text and the body says "New message"; several unread say how many.
 */
export function notificationFor(payload: Extract<NotificationPushPayload, { kind: 'message' }>): ShownNotification {
  const body =
    payload.unread > 1
      ? `${payload.unread} new messages${payload.preview ? `\n${payload.preview}` : ''}`
      : (payload.preview ?? 'New message');
  const sentAt = Date.parse(payload.sentAt);
  return {
    title: payload.senderName || 'FetchWork',
    options: {
      body,
      tag: payload.conversationId,
      renotify: true,
      icon: NOTIFICATION_ICON,
      badge: NOTIFICATION_BADGE,
      ...(Number.isFinite(sentAt) ? { timestamp: sentAt } : {}),
      data: { conversationId: payload.conversationId, messageId: payload.messageId },
    },
  };
}

/** The app's own address for a conversation (InboxScreen reads the hash at start). */
export function conversationPath(conversationId: string): string {
  return `/#/c/${encodeURIComponent(conversationId)}`;
}
