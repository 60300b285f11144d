import { z } from 'zod';
import { conversationIdSchema, messageIdSchema } from './validators';

/**
 * Web Push notifications and their settings (docs/protocol.md "Notifications"). A device
 * subscribes with the browser's PushSubscription; the server sends standard encrypted Web Push
 * (VAPID) for new messages to the user's subscribed devices, and a `clear` push when the user has
 * read a conversation elsewhere. Settings (private previews, muted conversations) are the user's,
 * shared by all their devices.
 */

export const NOTIFICATION_ROUTES = {
  /** GET → `{ data: { publicKey } }`, 404 `PUSH_DISABLED` when the server has no VAPID keys. No auth needed. */
  vapidPublicKey: '/api/notifications/vapid-public-key',
  /** POST `PushSubscriptionBody` → 201 (re-posting the same endpoint updates it); DELETE `{ endpoint }` → 204. */
  subscriptions: '/api/notifications/subscriptions',
  /** GET → `{ data: NotificationSettings }`; PATCH `NotificationSettingsPatch` → `{ data: NotificationSettings }`. */
  settings: '/api/notifications/settings',
} as const;

const base64url = z.string().regex(/^[A-Za-z0-9_-]+=*$/, 'must be base64url');

/** What `PushSubscription.toJSON()` gives in a browser. Only https endpoints are accepted. */
export const pushSubscriptionSchema = z
  .object({
    endpoint: z
      .string()
      .max(2048)
      .url()
      .refine((u) => u.startsWith('https://') || u.startsWith('http://127.0.0.1') || u.startsWith('http://localhost'), {
        message: 'must be an https url',
      }),
    expirationTime: z.number().nullable().optional(),
    keys: z.object({ p256dh: base64url.max(200), auth: base64url.max(64) }).strict(),
  })
  .strict();
export type PushSubscriptionJson = z.infer<typeof pushSubscriptionSchema>;

export const pushSubscriptionBodySchema = z.object({ subscription: pushSubscriptionSchema }).strict();
export type PushSubscriptionBody = z.infer<typeof pushSubscriptionBodySchema>;

export const pushUnsubscribeBodySchema = z.object({ endpoint: z.string().max(2048).url() }).strict();

/** `full`: sender and text in the notification; `private`: sender and "New message" only. */
export const notificationPreviewSchema = z.enum(['full', 'private']);
export type NotificationPreview = z.infer<typeof notificationPreviewSchema>;

export const MAX_MUTED_CONVERSATIONS = 1000;

export interface NotificationSettings {
  previews: NotificationPreview;
  /** Conversations muted on all of the user's devices. */
  muted: string[];
  /** ISO time of the last change (the server's clock). */
  updatedAt: string;
}

/** One change at a time; an absent field is left as it is. */
export const notificationSettingsPatchSchema = z
  .object({
    previews: notificationPreviewSchema.optional(),
    mute: z.object({ conversationId: conversationIdSchema, muted: z.boolean() }).strict().optional(),
  })
  .strict()
  .refine((p) => p.previews !== undefined || p.mute !== undefined, { message: 'nothing to change' });
export type NotificationSettingsPatch = z.infer<typeof notificationSettingsPatchSchema>;

/** Client → server over the socket: the conversation open and visible in a focused tab, or null. */
export const notificationFocusSchema = z.object({ conversationId: conversationIdSchema.nullable() }).strict();
export type NotificationFocus = z.infer<typeof notificationFocusSchema>;

/**
 * The decrypted payload of a push, as the service worker reads it. It carries no more than the
 * notification shows: never a token, never the whole message.
 */
export type NotificationPushPayload =
  | {
      kind: 'message';
      conversationId: string;
      messageId: string;
      /** The sender's display name. */
      senderName: string;
      /** The text's first 120 characters; null for private previews (show "New message"). */
      preview: string | null;
      /** Messages of this conversation notified and not yet read, this one included (for "3 new messages"). */
      unread: number;
      sentAt: string;
    }
  | { kind: 'clear'; conversationId: string };

export const notificationPushPayloadSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('message'),
      conversationId: conversationIdSchema,
      messageId: messageIdSchema,
      senderName: z.string().max(100),
      preview: z.string().max(120).nullable(),
      unread: z.number().int().min(1),
      sentAt: z.string(),
    })
    .strict(),
  z.object({ kind: z.literal('clear'), conversationId: conversationIdSchema }).strict(),
]);

export const PUSH_PREVIEW_MAX_CHARS = 120;
