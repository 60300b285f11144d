import type { ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import type { Failure } from '../db/outbox-store';
import type { ConversationView, MessageStatus, MessageView } from '../inbox-api';

/**
 * pending (not accepted) → sent (the server's copy is here, or this tab saw the server
 * acknowledge it) → delivered → read; failed wins over all.
 */
export function messageStatus(m: MessageDoc, failure: Failure | null | undefined, acknowledged = false): MessageStatus {
  if (failure) return 'failed';
  if (m.isRead) return 'read';
  if (m.deliveredAt !== null) return 'delivered';
  if ((m.sentAt !== null && m.seq > 0) || acknowledged) return 'sent';
  return 'pending';
}

export function toMessageView(m: MessageDoc, userId: string, failure: Failure | null | undefined, acknowledged = false): MessageView {
  return {
    ...m,
    status: messageStatus(m, failure, acknowledged),
    failure: failure ? { code: failure.code, message: failure.message } : null,
    mine: m.sender === userId,
  };
}

export function otherParticipant(c: ConversationDoc, userId: string): string {
  return c.participants.find((p) => p !== userId) ?? userId;
}

/**
 * Server time once the server has the conversation, else the local creation time; a newer
 * message not yet accepted (local clock) lifts the conversation to the top right away.
 */
export function conversationSortTime(c: ConversationDoc, last: MessageDoc | null): string {
  const base = c.seq > 0 ? c.lastActivity : c.createdAt;
  // ISO strings in one canonical form compare in time order.
  if (last && last.createdAt > base) return last.createdAt;
  return base;
}

export function toConversationView(
  c: ConversationDoc,
  userId: string,
  unread: number,
  last: MessageView | null,
  fallbackName: (userId: string) => string,
): ConversationView {
  const other = otherParticipant(c, userId);
  return {
    ...c,
    otherUserId: other,
    otherUserName: c.participantNames[other] ?? fallbackName(other),
    unread,
    lastMessageView: last,
    sortTime: conversationSortTime(c, last),
  };
}

/** Newest first by sortTime, then by id so that equal times keep one order everywhere. */
export function compareConversations(a: ConversationView, b: ConversationView): number {
  if (a.sortTime !== b.sortTime) return a.sortTime < b.sortTime ? 1 : -1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
