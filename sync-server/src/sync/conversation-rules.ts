import {
  CONVERSATION_SERVER_FIELDS,
  type ConversationDoc,
  conversationIdFor,
  sameClientConversationState,
  sortedParticipants,
  type Wire,
} from '@fetchwork/shared-schema';
import type { AuthUser } from '../auth/tokens';
import { fallbackName } from '../users/fallback-name';
import { type Decision, reject, staleOrSame } from './decision';

export interface ConversationRowInput {
  user: AuthUser;
  assumed: Wire<ConversationDoc> | null;
  proposed: Wire<ConversationDoc>;
  current: ConversationDoc | null;
  now: string;
  /** Display names the server knows for the participants (never the client's proposal). */
  names: Record<string, string>;
}

export function newConversation(
  participants: readonly string[],
  job: string | null,
  now: string,
  names: Record<string, string>,
): ConversationDoc {
  const sorted = sortedParticipants(participants);
  return {
    id: conversationIdFor(sorted, job),
    participants: sorted,
    job,
    lastMessage: null,
    lastActivity: now,
    isActive: true,
    unreadCount: Object.fromEntries(sorted.map((u) => [u, 0])),
    participantNames: Object.fromEntries(sorted.map((u) => [u, names[u] ?? fallbackName(u)])),
    createdAt: now,
    updatedAt: now,
    seq: 0,
  };
}

/**
 * Clients create conversations (with the id derived from participants and job, so offline
 * creations on two devices converge) and change nothing afterwards: every other field is
 * derived by the server from the messages.
 */
export function decideConversationWrite(i: ConversationRowInput): Decision<ConversationDoc> {
  const p = i.proposed;
  if (i.current) {
    if (!i.current.participants.includes(i.user.id)) {
      // Answered exactly as if it did not exist: ids are derived from user ids, so a different
      // answer would tell anyone who talks to whom. (A creation cannot succeed here: a derived id
      // names its participants, and the caller is not one of them.)
      const asNew = decideCreation(i);
      return asNew.kind === 'write' ? reject('FORBIDDEN', 'you must be a participant of a conversation you create') : asNew;
    }
    const master: Wire<ConversationDoc> = { ...i.current, _deleted: false };
    if (!sameClientConversationState(p, master)) {
      return { kind: 'conflict', master: i.current, reason: { code: 'FORBIDDEN', message: 'participants and job cannot change' } };
    }
    // A stale or echoed copy matches the state it started from or the stored one; anything else is forged.
    const differs = (a: ConversationDoc) => CONVERSATION_SERVER_FIELDS.some((f) => JSON.stringify(a[f]) !== JSON.stringify(p[f]));
    const changedServerField = i.assumed !== null && differs(i.assumed) && differs(i.current);
    if (changedServerField) {
      return {
        kind: 'conflict',
        master: i.current,
        reason: { code: 'SERVER_FIELD', message: 'only participants and job are set by clients' },
      };
    }
    return staleOrSame(p, master);
  }
  return decideCreation(i);
}

function decideCreation(i: ConversationRowInput): Decision<ConversationDoc> {
  const p = i.proposed;
  const participants = sortedParticipants(p.participants);
  if (p._deleted) return reject('FORBIDDEN', 'conversations cannot be removed');
  if (participants.length !== 2) return reject('VALIDATION_FAILED', 'a conversation has two distinct participants');
  if (!participants.includes(i.user.id)) return reject('FORBIDDEN', 'you must be a participant of a conversation you create');
  if (p.id !== conversationIdFor(participants, p.job)) {
    return reject('VALIDATION_FAILED', 'id must be conversationIdFor(participants, job)');
  }
  return { kind: 'write', next: newConversation(participants, p.job, i.now, i.names) };
}
