import type { AuthRenewPayload, AuthRenewResult } from './auth';
import type { DocsByCollection, MessageDoc, Wire } from './documents';
import type { ErrorBody, ErrorCode } from './errors';
import type { NotificationFocus, NotificationSettings } from './notifications';
import type { CollectionName } from './protocol';
import type { Checkpoint } from './validators';

/**
 * Typed Socket.io event maps (the ack callback is always last). Types do not validate input:
 * the server parses every payload with the zod schemas in validators.ts.
 */

export interface PullPayload<C extends CollectionName = CollectionName> {
  collection: C;
  checkpoint?: Checkpoint | null;
  batchSize: number;
}
export interface PullResult<C extends CollectionName = CollectionName> {
  documents: Wire<DocsByCollection[C]>[];
  /** The position after the last document; pass it back on the next pull. Null only for an empty feed. */
  checkpoint: Checkpoint | null;
}

/**
 * Recent first (docs/protocol.md): a new replica asks `sync:bootstrap` instead of pulling its
 * feed from the start, then pulls live changes from the answer's checkpoint and walks the
 * history below it with `sync:history`, newest first. Stock clients may keep pulling from null.
 */
export interface BootstrapPayload<C extends CollectionName = CollectionName> {
  collection: C;
  /** conversations: how many of the newest to send; messages: newest messages per conversation. */
  pageSize: number;
  /**
   * Messages only: how many of the most recently active conversations get their newest page
   * (default and at most LIMITS.bootstrapConversationsMax; fewer when pageSize × conversations
   * exceeds LIMITS.bootstrapMessagesMax: as many as fit). The others' pages come from the walk
   * or from `sync:page` when opened; their latest message is already in the conversation list.
   */
  conversations?: number;
}
/** Where the walk of older documents goes on. */
export interface HistoryCursor {
  /** Ask `sync:history` for the feed's documents with a sequence below this. */
  before: number;
  /** Documents of the user's feed below `before` when this was read (an honest progress total). */
  remaining: number;
}
export interface BootstrapResult<C extends CollectionName = CollectionName> {
  documents: Wire<DocsByCollection[C]>[];
  /** Continue live replication (`sync:pull`, `sync:stream`) from here; null for an empty feed. */
  checkpoint: Checkpoint | null;
  /** Older documents that `documents` may not hold; null when it holds all of them. */
  history: HistoryCursor | null;
}
export interface HistoryPayload<C extends CollectionName = CollectionName> {
  collection: C;
  before: number;
  limit: number;
}
export interface HistoryResult<C extends CollectionName = CollectionName> {
  /** Newest first; each at its current state (a document changed since moved above the checkpoint). */
  documents: Wire<DocsByCollection[C]>[];
  /** The next page, or null when the walk is complete. */
  history: HistoryCursor | null;
}
export interface PagePayload {
  conversationId: string;
  /** Messages with a sequence below this; null for the newest. */
  before: number | null;
  limit: number;
}
export interface PageResult {
  /** Newest first. */
  documents: Wire<MessageDoc>[];
  /** Pass as `before` for the next older page; null when there is none. */
  before: number | null;
}

export interface PushRow<C extends CollectionName = CollectionName> {
  assumedMasterState?: Wire<DocsByCollection[C]> | null;
  newDocumentState: Wire<DocsByCollection[C]>;
}
export interface PushPayload<C extends CollectionName = CollectionName> {
  collection: C;
  rows: PushRow<C>[];
}
export interface RejectedRow {
  /** The row's document id, or null when the row was too malformed to carry one. */
  id: string | null;
  code: ErrorCode;
  message: string;
}
export interface PushResult<C extends CollectionName = CollectionName> {
  /** The stored (master) state of every row that conflicted or was reverted; feed these to RxDB. */
  conflicts: Wire<DocsByCollection[C]>[];
  /** Rows refused for good (or, for retryable codes, for now), with the reason. */
  rejected: RejectedRow[];
}

export type StreamEvent<C extends CollectionName = CollectionName> =
  | { collection: C; documents: Wire<DocsByCollection[C]>[]; checkpoint: Checkpoint }
  | { collection: C; resync: true };

export interface DeliveredPayload {
  /** Messages to the caller that reached its replica; at most LIMITS.deliveredMaxIds. */
  ids: string[];
}
export interface DeliveredResult {
  /** How many of them this receipt marked delivered (the others already were). */
  delivered: number;
  /** Ids that are not the caller's to mark (unknown, or sent by the caller). */
  rejected: RejectedRow[];
}

export interface TypingPayload {
  conversationId: string;
}
export interface TypingEvent {
  conversationId: string;
  userId: string;
}
export interface PresenceState {
  /** Contacts of the receiving user that are online now. */
  online: string[];
}

export type Ack<T> = (response: T | ErrorBody) => void;

export interface ClientToServerEvents {
  'sync:pull': (payload: PullPayload, ack: Ack<PullResult>) => void;
  'sync:push': (payload: PushPayload, ack: Ack<PushResult>) => void;
  'sync:bootstrap': (payload: BootstrapPayload, ack: Ack<BootstrapResult>) => void;
  'sync:history': (payload: HistoryPayload, ack: Ack<HistoryResult>) => void;
  'sync:page': (payload: PagePayload, ack: Ack<PageResult>) => void;
  /** Delivery receipts, outside the messages replication (see docs/protocol.md). */
  'messages:delivered': (payload: DeliveredPayload, ack: Ack<DeliveredResult>) => void;
  'typing:start': (payload: TypingPayload, ack?: Ack<{ ok: true }>) => void;
  'typing:stop': (payload: TypingPayload, ack?: Ack<{ ok: true }>) => void;
  /** The conversation open and visible in a focused tab of this socket, or null: no push for it (docs/protocol.md "Notifications"). */
  'notifications:focus': (payload: NotificationFocus, ack?: Ack<{ ok: true }>) => void;
  /** A fresh access token for this connection (same user, same or a renewed session): the socket stays open past the old token's expiry. */
  'auth:renew': (payload: AuthRenewPayload, ack: Ack<AuthRenewResult>) => void;
}

export interface ServerToClientEvents {
  'sync:stream': (event: StreamEvent) => void;
  'typing:start': (event: TypingEvent) => void;
  'typing:stop': (event: TypingEvent) => void;
  'user:online': (event: { userId: string }) => void;
  'user:offline': (event: { userId: string; lastSeen: string }) => void;
  'presence:state': (event: PresenceState) => void;
  /** The token expired: send `auth:renew` with a fresh one within AUTH_RENEW_GRACE_MS, or the server disconnects the socket. */
  'auth:expired': () => void;
  /** The session ended (signed out, signed out everywhere, or its refresh credential was reused): sign in again. A disconnect follows. */
  'auth:revoked': () => void;
  /** The user's list of blocked people changed (on any device): fetch it again (GET /api/blocks). */
  'blocks:changed': () => void;
  /** The user's notification settings changed (on any device). */
  'notifications:settings': (event: NotificationSettings) => void;
}

/** Message of the `connect_error` a refused handshake produces. */
export const UNAUTHORIZED_CONNECT_ERROR = 'unauthorized';

/** What a client sends as Socket.io's `auth` in its handshake. */
export interface HandshakeAuth {
  token: string;
  /** The client's PROTOCOL_VERSION; a handshake without one is taken as version 1 (from before versioning). */
  protocolVersion?: number;
}

/**
 * Message of the `connect_error` for a client older than the server serves; its `data` is
 * `UpgradeRequiredData`. Reconnecting cannot help: the app must load its new version.
 */
export const UPGRADE_REQUIRED_CONNECT_ERROR = 'upgrade_required';

export interface UpgradeRequiredData {
  code: 'UPGRADE_REQUIRED';
  message: string;
  /** The oldest protocol version the server serves. */
  minVersion: number;
}

/**
 * Message of the `connect_error` for a version the server does not know (newer than its own, e.g.
 * an app deployed before its server, or not a version at all); `data` is
 * `{ code: 'VALIDATION_FAILED', message, maxVersion }`. Retrying later is right: the server is
 * updated next.
 */
export const UNSUPPORTED_VERSION_CONNECT_ERROR = 'unsupported_version';
