/**
 * The replicated documents. Every seed field of FetchWork's Mongoose schemas keeps its name and
 * meaning; the additions are `id` (client-generated primary key), the server fields `seq` and
 * `sentAt`, `deliveredAt`, and the conversation's `participantNames`, `createdAt`, `updatedAt`.
 * Dates travel as ISO-8601 strings. RxDB adds `_deleted` on the wire; it is always false here
 * because messages are soft-deleted (`isDeleted`) and conversations are never removed.
 */

import { conversationIdFor, sortedParticipants } from './ids';
export type MessageType = 'text' | 'file' | 'system';

export interface Attachment {
  filename: string;
  url: string;
  size: number;
  mimeType: string;
}

export interface MessageDoc {
  id: string;
  conversation: string;
  sender: string;
  recipient: string;
  content: string;
  messageType: MessageType;
  attachments: Attachment[];
  isRead: boolean;
  readAt: string | null;
  isEdited: boolean;
  editedAt: string | null;
  isDeleted: boolean;
  deletedAt: string | null;
  /** Set by the recipient's replica when the message reaches it (server stamps the time). */
  deliveredAt: string | null;
  /** Client clock while pending; the server overwrites it with its own clock on accept. */
  createdAt: string;
  updatedAt: string;
  /** Server: position in the change feed; 0 until the server has accepted the message. */
  seq: number;
  /** Server: when the server accepted the message; null while pending. */
  sentAt: string | null;
}

export interface ConversationDoc {
  id: string;
  /** Sorted user ids. */
  participants: string[];
  job: string | null;
  lastMessage: string | null;
  lastActivity: string;
  isActive: boolean;
  /** user id → number of messages to that user not yet read. */
  unreadCount: Record<string, number>;
  /** user id → display name, as far as the server knows it. */
  participantNames: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  seq: number;
}

export interface DocsByCollection {
  messages: MessageDoc;
  conversations: ConversationDoc;
}

/** A document as RxDB's replication carries it. */
export type Wire<T> = T & { _deleted: boolean };

/**
 * A message as the server first stored it: the server stamps `sentAt` and `updatedAt` with the
 * same time when it accepts a message, and any later write (a receipt, a read, an edit) moves
 * `updatedAt`.
 */
export function isFirstServerState(doc: MessageDoc): boolean {
  return doc.sentAt !== null && doc.updatedAt === doc.sentAt && doc.deliveredAt === null && !doc.isRead;
}

/** Fields only the server sets; a client's value for them is ignored or refused. */
export const MESSAGE_SERVER_FIELDS = ['seq', 'sentAt', 'createdAt', 'updatedAt'] as const;
export const CONVERSATION_SERVER_FIELDS = [
  'lastMessage',
  'lastActivity',
  'isActive',
  'unreadCount',
  'participantNames',
  'createdAt',
  'updatedAt',
  'seq',
] as const;

/** What a writer decides about a new message; everything else starts at its unsent default. */
export interface NewMessage {
  id: string;
  conversation: string;
  sender: string;
  recipient: string;
  content: string;
  messageType?: MessageType;
  attachments?: Attachment[];
  /** ISO time for createdAt/updatedAt (the server restamps them). */
  at: string;
}

/** A message as its writer creates it: not delivered, read, edited or deleted, no server fields. */
export function newMessageDoc(m: NewMessage): MessageDoc {
  return {
    id: m.id,
    conversation: m.conversation,
    sender: m.sender,
    recipient: m.recipient,
    content: m.content,
    messageType: m.messageType ?? 'text',
    attachments: m.attachments ?? [],
    isRead: false,
    readAt: null,
    isEdited: false,
    editedAt: null,
    isDeleted: false,
    deletedAt: null,
    deliveredAt: null,
    createdAt: m.at,
    updatedAt: m.at,
    seq: 0,
    sentAt: null,
  };
}

/** A conversation as its creator proposes it; the id derives from participants and job. */
export function newConversationDoc(c: {
  participants: readonly string[];
  job: string | null;
  at: string;
  /** Shown until the server's names arrive; the server ignores a client's names. */
  participantNames?: Record<string, string>;
}): ConversationDoc {
  const participants = sortedParticipants(c.participants);
  return {
    id: conversationIdFor(participants, c.job),
    participants,
    job: c.job,
    lastMessage: null,
    lastActivity: c.at,
    isActive: true,
    unreadCount: {},
    participantNames: c.participantNames ?? {},
    createdAt: c.at,
    updatedAt: c.at,
    seq: 0,
  };
}
