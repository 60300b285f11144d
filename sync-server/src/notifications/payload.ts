import { createHmac } from 'node:crypto';
import {
  type ConversationDoc,
  type MessageDoc,
  type NotificationPreview,
  type NotificationPushPayload,
  PUSH_PREVIEW_MAX_CHARS,
} from '@fetchwork/shared-schema';

const SENDER_NAME_MAX = 100;
const FALLBACK_SENDER = 'Someone';

/** The first `max` UTF-16 units, never ending in half of a surrogate pair. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/** What a notification shows of a message: its text, or for files without a caption the file's name. */
export function previewOf(message: MessageDoc): string {
  const text = message.content.trim();
  if (text !== '' || message.attachments.length === 0) return clip(text, PUSH_PREVIEW_MAX_CHARS);
  const [first] = message.attachments;
  const more = message.attachments.length > 1 ? ` (+${message.attachments.length - 1})` : '';
  return clip(`📎 ${first!.filename}${more}`, PUSH_PREVIEW_MAX_CHARS);
}

export function messagePayload(
  message: MessageDoc,
  conversation: ConversationDoc | null,
  previews: NotificationPreview,
  tokenName: string | null,
): NotificationPushPayload {
  const name = conversation?.participantNames[message.sender] || tokenName || FALLBACK_SENDER;
  return {
    kind: 'message',
    conversationId: message.conversation,
    messageId: message.id,
    senderName: clip(name, SENDER_NAME_MAX),
    preview: previews === 'private' ? null : previewOf(message),
    unread: Math.max(1, conversation?.unreadCount[message.recipient] ?? 1),
    sentAt: message.sentAt ?? message.createdAt,
  };
}

/**
 * The Web Push `Topic` of a conversation: a newer push with the same topic replaces an undelivered
 * one at the push service (a burst reaches an offline phone as one). Keyed with a server secret,
 * because the push service sees topics and a conversation id names its participants.
 */
export function topicFor(conversationId: string, secret: string): string {
  return createHmac('sha256', secret).update(`topic:${conversationId}`).digest('base64url').slice(0, 32);
}
