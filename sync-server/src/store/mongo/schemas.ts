import type { Attachment, MessageType } from '@fetchwork/shared-schema';
import { type Connection, type Model, Schema, type Types } from 'mongoose';
import type { Ref } from './ids';

/**
 * The stored shapes. FetchWork's fields keep their names, types and meaning; everything this
 * adapter adds is listed in docs/mongodb.md. Fields a legacy document (written by the old REST
 * API) may lack are optional here, and the mapping fills them in.
 */

export const COLLECTION_NAMES = {
  messages: 'messages',
  conversations: 'conversations',
  users: 'messaging_users',
  counters: 'messaging_counters',
} as const;

/** The one counter document; every commit increments it inside its transaction. */
export const SEQ_COUNTER_ID = 'seq';

export interface MessageRecord {
  _id: Types.ObjectId;
  /** The sync id when it is not `_id`'s hex (see ids.ts). */
  clientId?: string;
  conversation: Types.ObjectId;
  /** The conversation's sync id when it is not `conversation`'s hex. */
  conversationClientId?: string;
  sender: Ref;
  recipient: Ref;
  content: string;
  messageType?: MessageType;
  attachments?: Attachment[];
  isRead?: boolean;
  readAt?: Date | null;
  isEdited?: boolean;
  editedAt?: Date | null;
  isDeleted?: boolean;
  deletedAt?: Date | null;
  deliveredAt?: Date | null;
  createdAt?: Date;
  updatedAt?: Date;
  seq?: number;
  /** Absent on legacy documents, which the server stored and so had sent; null only while pending. */
  sentAt?: Date | null;
  /** Users whose change feed holds this document (the port's `audience`, accumulated). */
  audience?: Ref[];
}

export interface ConversationRecord {
  _id: Types.ObjectId;
  clientId?: string;
  participants: Ref[];
  job?: Ref | null;
  lastMessage?: Types.ObjectId | null;
  /** The last message's sync id when it is not `lastMessage`'s hex. */
  lastMessageClientId?: string;
  lastActivity?: Date;
  isActive?: boolean;
  /** A Mongoose Map on the model; lean reads and raw writes see a plain object. */
  unreadCount?: Record<string, number> | Map<string, number>;
  participantNames?: Record<string, string> | Map<string, string>;
  createdAt?: Date;
  updatedAt?: Date;
  seq?: number;
  audience?: Ref[];
}

export interface UserDocRecord {
  /** ObjectId for FetchWork's 24-hex user ids (joins with `users._id`), else the id string. */
  _id: Ref;
  name: string | null;
  email: string | null;
  passwordHash: string | null;
}

export interface CounterRecord {
  _id: string;
  value: number;
}

// Users, jobs and audiences are ObjectIds for FetchWork ids but may be other token ids
// (USER_ID_PATTERN): Mixed stops Mongoose casting them (an ObjectId cast would refuse 'alice').
const RefType = Schema.Types.Mixed;

const attachmentSchema = new Schema<Attachment>(
  { filename: String, url: String, size: Number, mimeType: String },
  // A subdocument _id would be regenerated on every write of the array.
  { _id: false },
);

/** The indexes this adapter creates, also listed in docs/mongodb.md. */
export const MESSAGE_INDEXES = [
  // pullFeed: equality on one audience member, range and order on seq.
  { fields: { audience: 1, seq: 1 }, options: { name: 'messaging_feed' } },
  // listMessages: a conversation's page by seq; _id orders legacy records, which have no seq before the backfill.
  { fields: { conversation: 1, seq: 1, _id: 1 }, options: { name: 'messaging_conversation_seq' } },
  // countUnread.
  { fields: { recipient: 1, isRead: 1, isDeleted: 1 }, options: { name: 'messaging_unread' } },
  // conversationWriters: has this participant written in this conversation (presence consent, limits).
  { fields: { conversation: 1, sender: 1 }, options: { name: 'messaging_conversation_sender' } },
  // Idempotency of client ids, independent of the _id derivation.
  {
    fields: { clientId: 1 },
    options: { name: 'messaging_client_id', unique: true, partialFilterExpression: { clientId: { $type: 'string' } } },
  },
] as const;

export const CONVERSATION_INDEXES = [
  { fields: { audience: 1, seq: 1 }, options: { name: 'messaging_feed' } },
  // listConversations: FetchWork's participant lookup, newest activity first.
  { fields: { participants: 1, lastActivity: -1, _id: 1 }, options: { name: 'messaging_participant_activity' } },
  {
    fields: { clientId: 1 },
    options: { name: 'messaging_client_id', unique: true, partialFilterExpression: { clientId: { $type: 'string' } } },
  },
] as const;

export const USER_INDEXES = [
  {
    fields: { email: 1 },
    options: { name: 'messaging_email', unique: true, partialFilterExpression: { email: { $type: 'string' } } },
  },
] as const;

// Timestamps are set by the sync service (its clock, in the commit), not by Mongoose; versionKey
// off so our writes never touch FetchWork's __v.
const common = { versionKey: false, timestamps: false, strict: true, autoIndex: false } as const;

export function messageSchema(): Schema<MessageRecord> {
  const schema = new Schema<MessageRecord>(
    {
      clientId: String,
      conversation: { type: Schema.Types.ObjectId, ref: 'MessagingConversation', required: true },
      conversationClientId: String,
      sender: { type: RefType, required: true },
      recipient: { type: RefType, required: true },
      content: { type: String, maxlength: 2000, default: '' },
      messageType: { type: String, enum: ['text', 'file', 'system'], default: 'text' },
      attachments: { type: [attachmentSchema], default: [] },
      isRead: { type: Boolean, default: false },
      readAt: { type: Date, default: null },
      isEdited: { type: Boolean, default: false },
      editedAt: { type: Date, default: null },
      isDeleted: { type: Boolean, default: false },
      deletedAt: { type: Date, default: null },
      deliveredAt: Date,
      createdAt: Date,
      updatedAt: Date,
      seq: Number,
      sentAt: Date,
      audience: [RefType],
    },
    { ...common, collection: COLLECTION_NAMES.messages },
  );
  for (const index of MESSAGE_INDEXES) schema.index(index.fields, index.options);
  return schema;
}

export function conversationSchema(): Schema<ConversationRecord> {
  const schema = new Schema<ConversationRecord>(
    {
      clientId: String,
      participants: { type: [RefType], required: true },
      job: { type: RefType, default: null },
      lastMessage: { type: Schema.Types.ObjectId, ref: 'MessagingMessage', default: null },
      lastMessageClientId: String,
      lastActivity: Date,
      isActive: { type: Boolean, default: true },
      unreadCount: { type: Map, of: Number, default: {} },
      participantNames: { type: Map, of: String, default: {} },
      createdAt: Date,
      updatedAt: Date,
      seq: Number,
      audience: [RefType],
    },
    { ...common, collection: COLLECTION_NAMES.conversations },
  );
  for (const index of CONVERSATION_INDEXES) schema.index(index.fields, index.options);
  return schema;
}

export function userSchema(): Schema<UserDocRecord> {
  const schema = new Schema<UserDocRecord>(
    { _id: { type: RefType, required: true }, name: String, email: String, passwordHash: String },
    { ...common, collection: COLLECTION_NAMES.users },
  );
  for (const index of USER_INDEXES) schema.index(index.fields, index.options);
  return schema;
}

export function counterSchema(): Schema<CounterRecord> {
  return new Schema<CounterRecord>(
    { _id: String, value: { type: Number, required: true } },
    { ...common, collection: COLLECTION_NAMES.counters },
  );
}

export interface MessagingModels {
  Message: Model<MessageRecord>;
  Conversation: Model<ConversationRecord>;
  User: Model<UserDocRecord>;
  Counter: Model<CounterRecord>;
}

/**
 * Models on a dedicated connection, under names prefixed so they never clash with FetchWork's
 * own `Message`/`Conversation` models if both live in one process.
 */
export function createModels(connection: Connection): MessagingModels {
  return {
    Message: connection.model<MessageRecord>('MessagingMessage', messageSchema()),
    Conversation: connection.model<ConversationRecord>('MessagingConversation', conversationSchema()),
    User: connection.model<UserDocRecord>('MessagingUser', userSchema()),
    Counter: connection.model<CounterRecord>('MessagingCounter', counterSchema()),
  };
}
