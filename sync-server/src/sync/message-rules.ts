import {
  type ConversationDoc,
  type MessageDoc,
  sameClientMessageState,
  type Wire,
} from '@fetchwork/shared-schema';
import type { AuthUser } from '../auth/tokens';
import { type Decision, reject, staleOrSame } from './decision';

export interface MessageRowInput {
  user: AuthUser;
  assumed: Wire<MessageDoc> | null;
  proposed: Wire<MessageDoc>;
  current: MessageDoc | null;
  /** The conversation the proposed message names (null when unknown). */
  conversation: ConversationDoc | null;
  now: string;
}

const wire = (m: MessageDoc): Wire<MessageDoc> => ({ ...m, _deleted: false });

const SERVER_FIELDS = ['seq', 'sentAt', 'createdAt', 'updatedAt'] as const;

const sameServerFields = (a: MessageDoc, b: MessageDoc) => SERVER_FIELDS.every((f) => a[f] === b[f]);

/**
 * The row sets server fields to values that are neither the ones it started from nor the stored
 * ones. A stale or echoed copy (RxDB re-pushing a document it pulled) always matches one of them.
 */
function forgesServerFields(assumed: MessageDoc, proposed: MessageDoc, current: MessageDoc): boolean {
  return !sameServerFields(assumed, proposed) && !sameServerFields(current, proposed);
}

/**
 * The assumed master with the receipts the row sets itself. A delivered or read mark that the
 * stored message gained since the client's copy (its receipt, a read on another device) is one
 * the row makes anyway: judged as the row's own change, not as a conflict. Without this, reading
 * a message within moments of its delivered receipt (before the stamp's echo was stored; the
 * recipient holds it, receipt-hold.ts) cost a conflict round trip: the stored state back, a merge
 * and a second push.
 */
function withOwnReceipts(assumed: Wire<MessageDoc>, proposed: Wire<MessageDoc>, master: Wire<MessageDoc>): Wire<MessageDoc> {
  const gainedDelivered = assumed.deliveredAt === null && master.deliveredAt !== null && (proposed.deliveredAt !== null || proposed.isRead);
  const gainedRead = !assumed.isRead && master.isRead && proposed.isRead;
  if (!gainedDelivered && !gainedRead) return assumed;
  return {
    ...assumed,
    deliveredAt: gainedDelivered ? master.deliveredAt : assumed.deliveredAt,
    isRead: assumed.isRead || gainedRead,
    readAt: gainedRead ? master.readAt : assumed.readAt,
  };
}

/** The two user ids a derived conversation id (`c.<a>.<b>[.j.<job>]`) names; null for a legacy ObjectId. */
function namedParticipants(conversationId: string): string[] | null {
  const parts = conversationId.split('.');
  return parts[0] === 'c' && parts.length >= 3 ? [parts[1]!, parts[2]!] : null;
}

/** A new message: only the sender creates it, in a conversation they take part in, to the other participant. */
function decideCreate(i: MessageRowInput): Decision<MessageDoc> {
  const p = i.proposed;
  if (p.sender !== i.user.id) return reject('FORBIDDEN', 'sender must be the signed-in user');
  if (p._deleted) return reject('FORBIDDEN', 'messages are deleted with isDeleted, never removed');
  if (p.messageType === 'system') return reject('FORBIDDEN', 'only the server writes system messages');
  if (p.seq !== 0 || p.sentAt !== null) return reject('SERVER_FIELD', 'seq and sentAt are set by the server');
  if (p.isRead || p.readAt !== null || p.deliveredAt !== null) {
    return reject('FORBIDDEN', 'only the recipient sets delivered and read');
  }
  const c = i.conversation;
  // Checked before existence: a derived id names its participants, so an outsider gets the same
  // answer whether the conversation exists or not (nobody learns who talks to whom).
  const named = namedParticipants(p.conversation);
  if (named && !named.includes(i.user.id)) return reject('FORBIDDEN', 'not a participant of this conversation');
  // A legacy ObjectId names nobody, so here a conversation of others is answered as a missing one
  // is: a participant's conversation may simply not have reached the server yet (retryable), and
  // an outsider must not learn that this one exists. (For a derived id that names the caller,
  // `c` holds the caller whenever it exists.)
  if (!c?.participants.includes(i.user.id)) {
    return reject('CONVERSATION_NOT_FOUND', `conversation ${p.conversation} is not known yet`);
  }
  if (p.recipient === p.sender || !c.participants.includes(p.recipient)) {
    return reject('FORBIDDEN', 'recipient must be the other participant');
  }
  return {
    kind: 'write',
    next: {
      id: p.id,
      conversation: p.conversation,
      sender: p.sender,
      recipient: p.recipient,
      content: p.isDeleted ? '' : p.content,
      messageType: p.messageType,
      attachments: p.isDeleted ? [] : p.attachments,
      isRead: false,
      readAt: null,
      isEdited: p.isDeleted ? false : p.isEdited,
      editedAt: !p.isDeleted && p.isEdited ? i.now : null,
      isDeleted: p.isDeleted,
      deletedAt: p.isDeleted ? i.now : null,
      deliveredAt: null,
      createdAt: i.now,
      updatedAt: i.now,
      seq: 0,
      sentAt: i.now,
    },
  };
}

/**
 * A change to a stored message. Field ownership: the sender edits content/attachments and
 * deletes; the recipient sets delivered and read; nothing goes back (delete, delivered and read
 * are sticky); identity and server fields never change. A forbidden change is answered with the
 * stored state as a conflict (so the client's handler reverts it) plus the reason.
 */
function decideUpdate(i: MessageRowInput, current: MessageDoc): Decision<MessageDoc> {
  const p = i.proposed;
  const uid = i.user.id;
  if (current.sender !== uid && current.recipient !== uid) {
    return i.assumed ? reject('FORBIDDEN', 'not a participant of this conversation') : reject('ID_TAKEN', 'this id is already used');
  }
  const master = wire(current);
  const refuse = (code: 'FORBIDDEN' | 'SERVER_FIELD', message: string): Decision<MessageDoc> => ({
    kind: 'conflict',
    master: current,
    reason: { code, message },
  });
  const forged = i.assumed !== null && forgesServerFields(i.assumed, p, current);
  const serverFieldsMessage = 'seq, sentAt, createdAt and updatedAt are set by the server';
  if (sameClientMessageState(p, master)) {
    if (forged) return refuse('SERVER_FIELD', serverFieldsMessage);
    return staleOrSame(p, master);
  }
  if (!i.assumed || !sameClientMessageState(withOwnReceipts(i.assumed, p, master), master)) return { kind: 'conflict', master: current };
  if (forged) return refuse('SERVER_FIELD', serverFieldsMessage);
  if (
    p._deleted ||
    p.conversation !== current.conversation ||
    p.sender !== current.sender ||
    p.recipient !== current.recipient ||
    p.messageType !== current.messageType
  ) {
    return refuse('FORBIDDEN', 'conversation, sender, recipient and messageType cannot change');
  }
  const next: MessageDoc = { ...current, updatedAt: i.now };
  const contentChanged =
    !p.isDeleted && (p.content !== current.content || JSON.stringify(p.attachments) !== JSON.stringify(current.attachments));
  if (contentChanged) {
    if (uid !== current.sender) return refuse('FORBIDDEN', 'only the sender edits a message');
    if (current.isDeleted) return refuse('FORBIDDEN', 'a deleted message cannot be edited');
    next.content = p.content;
    next.attachments = p.attachments;
    next.isEdited = true;
    next.editedAt = i.now;
  }
  if (p.isDeleted !== current.isDeleted) {
    if (!p.isDeleted) return refuse('FORBIDDEN', 'a deleted message cannot be restored');
    if (uid !== current.sender) return refuse('FORBIDDEN', 'only the sender deletes a message');
    next.isDeleted = true;
    next.deletedAt = i.now;
    next.content = '';
    next.attachments = [];
    next.isEdited = false;
    next.editedAt = null;
  }
  const wantsDelivered = p.deliveredAt !== null || p.isRead;
  if (wantsDelivered && current.deliveredAt === null) {
    if (uid !== current.recipient) return refuse('FORBIDDEN', 'only the recipient marks a message delivered');
    next.deliveredAt = i.now;
  } else if (!wantsDelivered && current.deliveredAt !== null) {
    return refuse('FORBIDDEN', 'delivered cannot be undone');
  }
  if (p.isRead !== current.isRead) {
    if (!p.isRead) return refuse('FORBIDDEN', 'read cannot be undone');
    if (uid !== current.recipient) return refuse('FORBIDDEN', 'only the recipient marks a message read');
    next.isRead = true;
    next.readAt = i.now;
  }
  if (p.isEdited !== next.isEdited && !contentChanged && !next.isDeleted) {
    return refuse('FORBIDDEN', 'isEdited follows content changes');
  }
  return { kind: 'write', next };
}

export function decideMessageWrite(i: MessageRowInput): Decision<MessageDoc> {
  return i.current ? decideUpdate(i, i.current) : decideCreate(i);
}

/** How a write moves the conversation's unread counter of the recipient. */
export function unreadDelta(before: MessageDoc | null, after: MessageDoc): number {
  const unread = (m: MessageDoc | null) => (m && !m.isRead && !m.isDeleted ? 1 : 0);
  return unread(after) - unread(before);
}
