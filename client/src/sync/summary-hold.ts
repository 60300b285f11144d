import type { ConversationDoc } from '@fetchwork/shared-schema';
import type { ConversationCollection } from '../db/collections';
import { UnchangedHold } from './unchanged-hold';

/**
 * Which streamed conversation changes may wait (stream-buffer.ts, `hold`).
 *
 * The server rewrites a conversation's summary (last message, activity, unread counts) with
 * every message and every read, and streams it to both participants: stored one by one, that
 * was a replica write per message and per read on every device, as many as the messages
 * themselves. Nothing on screen waits for it: the list takes the last message, the order and
 * the unread counts from the local messages (inbox/queries.ts). So a change that touches only
 * those fields may wait `ms` and be stored with the others that came meanwhile, newest state per
 * conversation. Anything else is applied at once: a conversation this replica does not hold, or
 * holds unconfirmed (seq 0), or whose participants, names, job or state changed.
 */
export function conversationSummaryHold(collection: ConversationCollection, ms: number): UnchangedHold<ConversationDoc> {
  return new UnchangedHold(collection, { ms, identity, preload: true });
}

/** The fields a summary change leaves alone (everything but lastMessage, lastActivity, unreadCount, updatedAt, seq). */
function identity(c: ConversationDoc): string {
  const names = Object.entries(c.participantNames).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([c.participants, c.job, c.isActive, names, c.createdAt, c.seq > 0]);
}
