/**
 * The wire protocol's constants, in one place so client and server agree on them.
 * Bump PROTOCOL_VERSION on any incompatible change to an event or payload (docs/protocol.md,
 * "Versions"): the server serves it and the one before, and asks older clients to upgrade.
 */
export const PROTOCOL_VERSION = 1;

/**
 * The version of a handshake that names none: every client from before versioning speaks
 * version 1. The first incompatible bump past 2 refuses them (see protocolVersionVerdict).
 */
export const UNVERSIONED_PROTOCOL_VERSION = 1;

/** The oldest version a server of protocol `current` serves: the current one and the one before (never below 1). */
export function minProtocolVersion(current: number = PROTOCOL_VERSION): number {
  return Math.max(1, current - 1);
}

export type ProtocolVersionVerdict =
  | { ok: true; version: number }
  /** Older than the server serves: load the new app (UPGRADE_REQUIRED). */
  | { ok: false; reason: 'upgrade-required'; version: number; minVersion: number }
  /** Newer than the server (a client deployed before its server) or not a version at all. */
  | { ok: false; reason: 'unsupported'; version: unknown; maxVersion: number };

/**
 * What a server of protocol `current` makes of the version a client sent in its handshake
 * (`auth.protocolVersion`; undefined when it sent none).
 */
export function protocolVersionVerdict(sent: unknown, current: number = PROTOCOL_VERSION): ProtocolVersionVerdict {
  const version = sent === undefined || sent === null ? UNVERSIONED_PROTOCOL_VERSION : sent;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version > current) {
    return { ok: false, reason: 'unsupported', version, maxVersion: current };
  }
  const minVersion = minProtocolVersion(current);
  if (version < minVersion) return { ok: false, reason: 'upgrade-required', version, minVersion };
  return { ok: true, version };
}

export const COLLECTIONS = ['messages', 'conversations'] as const;
export type CollectionName = (typeof COLLECTIONS)[number];

export const LIMITS = {
  /** Characters in a message's content (the seed schema's limit). */
  contentMaxLength: 2000,
  /** Rows the server accepts in one `sync:push`; RxDB's default push batch is well below. */
  pushMaxRows: 200,
  /** Message ids one `messages:delivered` may carry. */
  deliveredMaxIds: 200,
  /** Documents a `sync:pull` may ask for at once. */
  pullMaxBatch: 1000,
  /** Conversations a `sync:bootstrap` of conversations may ask for (the schema's bound on `pageSize`). */
  bootstrapPageMax: 1000,
  /** Newest messages per conversation a `sync:bootstrap` of messages may ask for. */
  bootstrapMessagesPerConversationMax: 100,
  /** Conversations whose newest page a messages bootstrap brings (the most recently active ones). */
  bootstrapConversationsMax: 1000,
  /**
   * Messages one bootstrap answer carries at most: the server brings pages for as many
   * conversations as fit (pageSize × conversations ≤ this). At the two bounds above an answer
   * would hold 100,000 messages and take the server's event loop for ~300 ms.
   */
  bootstrapMessagesMax: 2000,
  /** Documents one `sync:history` may ask for. */
  historyMaxBatch: 1000,
  /** Messages one `sync:page` may ask for. */
  pageMaxBatch: 200,
  attachmentsMax: 10,
  attachmentUrlMaxLength: 2048,
  filenameMaxLength: 255,
  mimeTypeMaxLength: 255,
  attachmentMaxSize: 1024 * 1024 * 1024,
  participantsMax: 2,
  /** Ids of users and jobs: FetchWork uses 24-hex ObjectIds; anything id-like up to 64 chars is accepted. */
  idMaxLength: 64,
  /** Message ids (UUIDv7 or ULID) and derived conversation ids. */
  docIdMaxLength: 200,
  nameMaxLength: 100,
  searchQueryMaxLength: 200,
  bulkMaxIds: 500,
} as const;
