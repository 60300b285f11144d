import { type ConversationDoc, conversationIdFor, type MessageDoc, newMessageDoc, newMessageId, type Wire } from '@fetchwork/shared-schema';

/** A message as a client replica creates it: client id, no server fields yet. */
export function draftMessage(
  conversation: string,
  sender: string,
  recipient: string,
  content: string,
  overrides: Partial<MessageDoc> = {},
): Wire<MessageDoc> {
  const doc = newMessageDoc({ id: newMessageId(), conversation, sender, recipient, content, at: new Date().toISOString() });
  return { ...doc, ...overrides, _deleted: false };
}

export function draftConversation(a: string, b: string, job: string | null = null): Wire<ConversationDoc> {
  const now = new Date().toISOString();
  const participants = [a, b].sort();
  return {
    id: conversationIdFor(participants, job),
    participants,
    job,
    lastMessage: null,
    lastActivity: now,
    isActive: true,
    unreadCount: {},
    participantNames: {},
    createdAt: now,
    updatedAt: now,
    seq: 0,
    _deleted: false,
  };
}
