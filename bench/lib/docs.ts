import {
  type ConversationDoc,
  type MessageDoc,
  newConversationDoc,
  newMessageDoc,
  newMessageId,
  type Wire,
} from '@fetchwork/shared-schema';
import jwt from 'jsonwebtoken';
import { OWN_TOKEN_CLAIMS } from '../../sync-server/src/auth/tokens';

/** The JWT secret of every server the bench starts (loopback only, throwaway). */
export const BENCH_SECRET = 'bench-secret-0123456789abcdef-not-for-production';

let counter = 0;
const runTag = `${process.pid.toString(36)}${Date.now().toString(36).slice(-5)}`;
/** A fresh user id (token-safe, unique per run and process). */
export function newUserId(prefix = 'u'): string {
  counter += 1;
  return `${prefix}${runTag}${counter.toString(36)}`;
}

export function tokenFor(userId: string, name = `User ${userId.slice(-4)}`): string {
  return jwt.sign({ userId, name }, BENCH_SECRET, { algorithm: 'HS256', expiresIn: 6 * 3600, ...OWN_TOKEN_CLAIMS });
}

/** About the size of a real chat line. */
export const PAYLOAD_TEXT = 'Hi! I can start on the kitchen job on Monday at 9am, does that still work for you?';

/** A message as a replica creates it: client id, no server fields yet. */
export function draftMessage(
  conversation: string,
  sender: string,
  recipient: string,
  content = PAYLOAD_TEXT,
  at = new Date().toISOString(),
): Wire<MessageDoc> {
  return { ...newMessageDoc({ id: newMessageId(), conversation, sender, recipient, content, at }), _deleted: false };
}

export function draftConversation(a: string, b: string, job: string | null = null, at = new Date().toISOString()): Wire<ConversationDoc> {
  return { ...newConversationDoc({ participants: [a, b], job, at }), _deleted: false };
}

/**
 * History for initial-sync scenarios: `n` messages of `user` spread over `conversations`
 * partners, half sent and half received, all delivered and read (old history), in time order.
 * Each conversation is what the server's own writes leave behind: its newest message as
 * `lastMessage`, that message's time as `lastActivity`, and both participants' names, so a
 * replica sorts its conversation list as the app does. `newest` is what a usable inbox must
 * show: the conversation of the newest message at the top of the list, with that message;
 * `oldest` is the least recently active conversation (the bottom of the list) and its newest message.
 */
export function historyFor(
  user: string,
  n: number,
  conversations: number,
  userName = 'History',
): { conversations: ConversationDoc[]; messages: MessageDoc[]; newest: ConversationEnd | null; oldest: ConversationEnd | null } {
  const partners = Array.from({ length: conversations }, (_, i) => `${user}p${i.toString(36)}`);
  const start = Date.parse('2024-01-01T00:00:00.000Z');
  const convs = partners.map((p, i) => {
    const { _deleted, ...c } = draftConversation(user, p, null, new Date(start).toISOString());
    return { ...c, participantNames: { [user]: userName, [p]: `Partner ${i}` } };
  });
  const messages: MessageDoc[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % conversations;
    const partner = partners[k]!;
    const mine = Math.floor(i / conversations) % 2 === 0;
    const at = new Date(start + i * 1000).toISOString();
    const { _deleted, ...m } = draftMessage(convs[k]!.id, mine ? user : partner, mine ? partner : user, `${PAYLOAD_TEXT} (#${i})`, at);
    messages.push({ ...m, isRead: true, readAt: at, deliveredAt: at, sentAt: at });
    Object.assign(convs[k]!, { lastMessage: m.id, lastActivity: at, updatedAt: at });
  }
  const last = messages.at(-1);
  const quietest = convs.reduce<ConversationDoc | null>((q, c) => (c.lastMessage && (!q || c.lastActivity < q.lastActivity) ? c : q), null);
  return {
    conversations: convs,
    messages,
    newest: last ? { conversationId: last.conversation, messageId: last.id } : null,
    oldest: quietest?.lastMessage ? { conversationId: quietest.id, messageId: quietest.lastMessage } : null,
  };
}

/** A conversation and its newest message. */
export interface ConversationEnd {
  conversationId: string;
  messageId: string;
}
