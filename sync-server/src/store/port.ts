import type { CollectionName, ConversationDoc, DocsByCollection, MessageDoc } from '@fetchwork/shared-schema';
import type { PendingRegistrationStore } from '../auth/pending-registrations';
import type { SessionRecordStore } from '../auth/sessions/session-records';
import type { BlockRecordStore } from '../blocks/block-records';
import type { FileRecordStore } from '../files/records';
import type { PushRecordStore } from '../notifications/records';
import type { UserProfileStore } from '../users/profile-store';

/**
 * The storage port. Adapters (SQLite, MongoDB) implement only this; rules live in the services.
 * Every write goes through `commit`, which is atomic, assigns each written document the next
 * sequence inside the same transaction (so commit order equals sequence order) and refuses
 * the whole commit if any document changed since it was read (compare-and-set on `seq`).
 */

export interface WriteOp<C extends CollectionName = CollectionName> {
  collection: C;
  /** The full next state; its `seq` is ignored and replaced by the one the store assigns. */
  doc: DocsByCollection[C];
  /** null: the document must not exist yet. A number: its stored seq must still be this. */
  expectedSeq: number | null;
  /** Users whose change feed this write enters (the participants). */
  audience: readonly string[];
}

export interface FeedChange<C extends CollectionName = CollectionName> {
  userId: string;
  collection: C;
  /** The user's feed position in this collection before the commit (0 when empty). */
  prevSeq: number;
  /** The documents of this commit in the user's feed, in sequence order. */
  docs: DocsByCollection[C][];
}

export interface CommitResult {
  /** Stored states, in op order, with their assigned seq. */
  docs: { collection: CollectionName; doc: DocsByCollection[CollectionName] }[];
  feeds: FeedChange[];
}

export interface UserRecord {
  id: string;
  name: string | null;
  email: string | null;
  passwordHash: string | null;
}

/** Thrown by `commit` when a document's stored seq differs from the op's `expectedSeq`. */
export class StaleWriteError extends Error {
  constructor(
    readonly collection: CollectionName,
    readonly id: string,
  ) {
    super(`stale write to ${collection}/${id}`);
    this.name = 'StaleWriteError';
  }
}

export interface MessagePage {
  /** Up to `limit` messages, oldest first. */
  messages: MessageDoc[];
}

/** A stored document as the store keeps it: the JSON text it was written as, and its sequence. */
export interface StoredText {
  seq: number;
  json: string;
}

/**
 * The reads an answer sends as they are (sync/stored-documents.ts), returning each document's
 * stored JSON instead of the parsed document: the same rows, in the same order, as the reads of
 * the same names on SyncStore.
 */
export interface StoredTextReads {
  pullFeed(userId: string, collection: CollectionName, afterSeq: number, limit: number): Promise<StoredText[]>;
  feedBefore(userId: string, collection: CollectionName, beforeSeq: number, limit: number): Promise<StoredText[]>;
  newestMessages(conversationIds: readonly string[], perConversation: number, beforeSeq: number): Promise<StoredText[]>;
}

export interface SyncStore {
  /** The documents with these ids that exist (any order). */
  getDocs<C extends CollectionName>(collection: C, ids: readonly string[]): Promise<DocsByCollection[C][]>;
  /** Atomically writes the ops; assigns sequences; throws StaleWriteError on a lost race. */
  commit(ops: readonly WriteOp[]): Promise<CommitResult>;
  /** The user's feed after `afterSeq`, ascending by seq, at most `limit`: an indexed range scan. */
  pullFeed<C extends CollectionName>(userId: string, collection: C, afterSeq: number, limit: number): Promise<DocsByCollection[C][]>;
  /** The highest sequence assigned so far (0 for an empty store). */
  headSeq(): Promise<number>;
  /** The user's feed position in a collection: its highest seq (0 when the feed is empty). */
  feedHead(userId: string, collection: CollectionName): Promise<number>;
  /**
   * The user's feed below `beforeSeq`, newest first, at most `limit`: the pull index read
   * backwards, so a walk of older documents costs what its pages hold.
   */
  feedBefore<C extends CollectionName>(userId: string, collection: C, beforeSeq: number, limit: number): Promise<DocsByCollection[C][]>;
  /** How many documents of the user's feed lie below `beforeSeq`. */
  countFeedBefore(userId: string, collection: CollectionName, beforeSeq: number): Promise<number>;
  /**
   * Per conversation, its newest `perConversation` messages below `beforeSeq` (each conversation
   * newest first; conversations in no particular order). Messages without a sequence (legacy
   * records before the MongoDB backfill) are in no feed and are left out.
   */
  newestMessages(conversationIds: readonly string[], perConversation: number, beforeSeq: number): Promise<MessageDoc[]>;
  /** The user's conversations, most recent activity first. */
  listConversations(userId: string): Promise<ConversationDoc[]>;
  /** A conversation's messages, oldest first, the newest `limit` ones before `beforeSeq` if given. */
  listMessages(conversationId: string, options: { limit: number; beforeSeq?: number }): Promise<MessageDoc[]>;
  /**
   * Messages to the user that are neither read nor deleted. An adapter may sum the `unreadCount`
   * of the user's conversations instead: every commit through SyncService keeps those equal to it.
   */
  countUnread(userId: string): Promise<number>;
  /** Non-deleted messages of the user's conversations whose content contains every term. */
  searchMessages(userId: string, query: string, limit: number): Promise<MessageDoc[]>;
  getUser(id: string): Promise<UserRecord | null>;
  getUsers(ids: readonly string[]): Promise<UserRecord[]>;
  getUserByEmail(email: string): Promise<UserRecord | null>;
  /** Inserts or updates a user; fields given as undefined keep their stored value. */
  upsertUser(user: { id: string; name?: string | null; email?: string | null; passwordHash?: string | null }): Promise<void>;
  /** The records of uploaded files, kept in the same database. */
  fileRecords(): FileRecordStore;
  /** The user directory's names (users/), kept in the same database. */
  userProfiles(): UserProfileStore;
  /** Web Push subscriptions and notification settings, kept in the same database. */
  pushRecords(): PushRecordStore;
  /** Signed-in sessions of standalone mode (refresh families), kept in the same database. */
  sessionRecords(): SessionRecordStore;
  /** Registrations waiting for their email to be confirmed (auth/pending-registrations.ts). */
  pendingRegistrations(): PendingRegistrationStore;
  /** Blocks between users (blocks/), kept in the same database. */
  blockRecords(): BlockRecordStore;
  /**
   * Per conversation, which of its participants have sent at least one message in it (an indexed
   * lookup per participant, never a scan of the messages). Conversations with no writer are absent.
   */
  conversationWriters(conversations: readonly Pick<ConversationDoc, 'id' | 'participants'>[]): Promise<Map<string, string[]>>;
  /** A cheap liveness probe for /health. */
  ping(): Promise<void>;
  /**
   * Starts now what the store would start at its first use (SQLite: its read thread, ~90 ms), so
   * that the first client's reads after a server start do not wait for it. Optional.
   */
  warmUp?(): void;
  /**
   * Optional, for a store that keeps each document as JSON text (SQLite): pulls and history
   * answers then carry the stored text instead of parsing it and encoding it again.
   */
  readonly texts?: StoredTextReads;
  close(): Promise<void>;
}
