import type { Attachment, ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import type { Types } from 'mongoose';
import type { UserRecord } from '../port';
import { clientIdFor, fromRef, objectIdFor, type Ref, syncIdOf, toRef } from './ids';
import type { ConversationRecord, MessageRecord, UserDocRecord } from './schemas';

/**
 * Sync documents ↔ stored records. Dates travel as ISO strings and are stored as BSON dates,
 * as FetchWork stores them; the server writes them with toISOString(), so they round-trip
 * exactly (a non-canonical ISO string would come back normalised).
 */

export function toDate(iso: string): Date {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new TypeError(`not a date: ${iso}`);
  return date;
}

const toDateOrNull = (iso: string | null): Date | null => (iso === null ? null : toDate(iso));
const isoOrNull = (date: Date | null | undefined): string | null => (date ? date.toISOString() : null);

/** Refs deduplicated by their string form, first occurrence first. */
export function uniqueRefs(ids: Iterable<string>): Ref[] {
  return [...new Set(ids)].map(toRef);
}

function plainRecord<V>(value: Record<string, V> | Map<string, V> | null | undefined): Record<string, V> {
  if (!value) return {};
  return value instanceof Map ? Object.fromEntries(value) : { ...value };
}

const copyAttachment = (a: Attachment): Attachment => ({ filename: a.filename, url: a.url, size: a.size, mimeType: a.mimeType });

/** Present only when set, so a record never carries `key: undefined` to the driver. */
function withOptional<T extends object>(record: T, optional: Record<string, unknown>): T {
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) (record as Record<string, unknown>)[key] = value;
  return record;
}

export function messageToRecord(doc: MessageDoc, audience: readonly string[]): MessageRecord {
  return withOptional(
    {
      _id: objectIdFor(doc.id),
      conversation: objectIdFor(doc.conversation),
      sender: toRef(doc.sender),
      recipient: toRef(doc.recipient),
      content: doc.content,
      messageType: doc.messageType,
      attachments: doc.attachments.map(copyAttachment),
      isRead: doc.isRead,
      readAt: toDateOrNull(doc.readAt),
      isEdited: doc.isEdited,
      editedAt: toDateOrNull(doc.editedAt),
      isDeleted: doc.isDeleted,
      deletedAt: toDateOrNull(doc.deletedAt),
      deliveredAt: toDateOrNull(doc.deliveredAt),
      createdAt: toDate(doc.createdAt),
      updatedAt: toDate(doc.updatedAt),
      seq: doc.seq,
      sentAt: toDateOrNull(doc.sentAt),
      audience: uniqueRefs(audience),
    } satisfies MessageRecord,
    { clientId: clientIdFor(doc.id), conversationClientId: clientIdFor(doc.conversation) },
  );
}

/** Fallback creation time for a legacy record without timestamps: the ObjectId's own second. */
const createdOf = (r: { _id: Types.ObjectId; createdAt?: Date }): Date => r.createdAt ?? r._id.getTimestamp();

export function messageFromRecord(r: MessageRecord): MessageDoc {
  const createdAt = createdOf(r).toISOString();
  const updatedAt = r.updatedAt ? r.updatedAt.toISOString() : createdAt;
  const isRead = r.isRead ?? false;
  // The wire schema requires isRead ⇔ readAt; a legacy record read without a time was read by its last update.
  const readAt = isoOrNull(r.readAt) ?? (isRead ? updatedAt : null);
  return {
    id: syncIdOf(r),
    conversation: r.conversationClientId ?? r.conversation.toHexString(),
    sender: fromRef(r.sender),
    recipient: fromRef(r.recipient),
    content: r.content ?? '',
    messageType: r.messageType ?? 'text',
    attachments: (r.attachments ?? []).map(copyAttachment),
    isRead,
    readAt,
    isEdited: r.isEdited ?? false,
    editedAt: isoOrNull(r.editedAt),
    isDeleted: r.isDeleted ?? false,
    deletedAt: isoOrNull(r.deletedAt),
    // FetchWork had no delivery receipt; a message it saw read was delivered by then at the latest.
    deliveredAt: r.deliveredAt === undefined ? (isRead ? readAt : null) : isoOrNull(r.deliveredAt),
    createdAt,
    updatedAt,
    seq: r.seq ?? 0,
    // Absent only on legacy records: the old API stored them, so they were sent when created.
    sentAt: r.sentAt === undefined ? createdAt : isoOrNull(r.sentAt),
  };
}

export function conversationToRecord(doc: ConversationDoc, audience: readonly string[]): ConversationRecord {
  return withOptional(
    {
      _id: objectIdFor(doc.id),
      participants: uniqueRefs(doc.participants),
      job: doc.job === null ? null : toRef(doc.job),
      lastMessage: doc.lastMessage === null ? null : objectIdFor(doc.lastMessage),
      lastActivity: toDate(doc.lastActivity),
      isActive: doc.isActive,
      unreadCount: { ...doc.unreadCount },
      participantNames: { ...doc.participantNames },
      createdAt: toDate(doc.createdAt),
      updatedAt: toDate(doc.updatedAt),
      seq: doc.seq,
      audience: uniqueRefs(audience),
    } satisfies ConversationRecord,
    {
      clientId: clientIdFor(doc.id),
      lastMessageClientId: doc.lastMessage === null ? undefined : clientIdFor(doc.lastMessage),
    },
  );
}

export function conversationFromRecord(r: ConversationRecord): ConversationDoc {
  const createdAt = createdOf(r);
  const updatedAt = r.updatedAt ?? createdAt;
  return {
    id: syncIdOf(r),
    // FetchWork did not sort participants; the sync document promises sorted ids.
    participants: [...new Set(r.participants.map(fromRef))].sort(),
    job: r.job === null || r.job === undefined ? null : fromRef(r.job),
    lastMessage: r.lastMessageClientId ?? (r.lastMessage ? r.lastMessage.toHexString() : null),
    lastActivity: (r.lastActivity ?? updatedAt).toISOString(),
    isActive: r.isActive ?? true,
    unreadCount: plainRecord(r.unreadCount),
    participantNames: plainRecord(r.participantNames),
    createdAt: createdAt.toISOString(),
    updatedAt: updatedAt.toISOString(),
    seq: r.seq ?? 0,
  };
}

/** Companion fields that are absent (not null) when the id they shadow is an ObjectId's hex. */
const COMPANION_FIELDS = ['clientId', 'conversationClientId', 'lastMessageClientId'] as const;

/**
 * The update that turns a stored record into `record`: `$set` of every field but `_id` (so
 * fields FetchWork keeps that this adapter does not know, like `__v`, survive), `$unset` of a
 * companion field that no longer applies.
 */
export function recordUpdate(record: MessageRecord | ConversationRecord): { $set: Record<string, unknown>; $unset?: Record<string, ''> } {
  const { _id, ...fields } = record as unknown as Record<string, unknown>;
  const unset: Record<string, ''> = {};
  for (const field of COMPANION_FIELDS) {
    if (fields[field] === undefined && companionApplies(record, field)) unset[field] = '';
  }
  return Object.keys(unset).length > 0 ? { $set: fields, $unset: unset } : { $set: fields };
}

function companionApplies(record: MessageRecord | ConversationRecord, field: (typeof COMPANION_FIELDS)[number]): boolean {
  if (field === 'clientId') return true;
  if (field === 'conversationClientId') return 'conversation' in record;
  return 'participants' in record;
}

export function userFromRecord(r: UserDocRecord): UserRecord {
  return { id: fromRef(r._id), name: r.name ?? null, email: r.email ?? null, passwordHash: r.passwordHash ?? null };
}

export interface UserUpsert {
  id: string;
  name?: string | null;
  email?: string | null;
  passwordHash?: string | null;
}

/** Fields given as undefined keep their stored value; on insert they start as null. Emails are stored lowercased. */
export function userUpsertUpdate(user: UserUpsert): {
  filter: { _id: Ref };
  update: { $set?: Record<string, string | null>; $setOnInsert?: Record<string, null> };
} {
  const given: Record<string, string | null> = {};
  const missing: Record<string, null> = {};
  const values = {
    name: user.name,
    email: user.email === undefined || user.email === null ? user.email : user.email.toLowerCase(),
    passwordHash: user.passwordHash,
  };
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) missing[key] = null;
    else given[key] = value;
  }
  const update: { $set?: Record<string, string | null>; $setOnInsert?: Record<string, null> } = {};
  if (Object.keys(given).length > 0) update.$set = given;
  if (Object.keys(missing).length > 0) update.$setOnInsert = missing;
  return { filter: { _id: toRef(user.id) }, update };
}
