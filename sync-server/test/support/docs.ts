import {
  type ConversationDoc,
  newConversationDoc,
  type MessageDoc,
  newMessageDoc,
  newMessageId,
  type Wire,
} from '@fetchwork/shared-schema';

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
  return { ...newConversationDoc({ participants: [a, b], job, at: new Date().toISOString() }), _deleted: false };
}
