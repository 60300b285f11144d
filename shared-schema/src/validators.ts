import { z } from 'zod';
import type { ErrorCode } from './errors';
import { CONVERSATION_ID_PATTERN, MESSAGE_ID_PATTERN, USER_ID_PATTERN } from './ids';
import { COLLECTIONS, LIMITS } from './protocol';

/**
 * zod validators for every inbound payload. Objects are strict: an unknown key (including an own
 * `__proto__` produced by JSON.parse) fails validation instead of being carried along.
 */

/**
 * Times are canonical UTC with milliseconds (what `Date#toISOString` makes): the merge compares
 * them as strings, which is only correct in this one form, and RxDB's schema caps them at 40.
 */
const isoDate = z.iso.datetime({ precision: 3 });
const nullableIsoDate = isoDate.nullable();
const RESERVED_IDS = new Set(['__proto__', 'constructor', 'prototype']);
/** User ids become keys of `unreadCount`/`participantNames`, so object-reserved names are refused. */
export const userIdSchema = z
  .string()
  .regex(USER_ID_PATTERN, 'must be an id of letters, digits, _ or -')
  .refine((id) => !RESERVED_IDS.has(id), 'is a reserved name');
export const messageIdSchema = z.string().regex(MESSAGE_ID_PATTERN, 'must be a UUID or a ULID');
export const conversationIdSchema = z.string().max(LIMITS.docIdMaxLength).regex(CONVERSATION_ID_PATTERN, 'must be a conversation id');
const seqSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const attachmentSchema = z.strictObject({
  filename: z.string().min(1).max(LIMITS.filenameMaxLength),
  url: z.url({ protocol: /^https?$/ }).max(LIMITS.attachmentUrlMaxLength),
  size: z.number().int().min(0).max(LIMITS.attachmentMaxSize),
  mimeType: z.string().min(1).max(LIMITS.mimeTypeMaxLength),
});

export const contentSchema = z.string().max(LIMITS.contentMaxLength);

export const wireMessageSchema = z
  .strictObject({
    id: messageIdSchema,
    conversation: conversationIdSchema,
    sender: userIdSchema,
    recipient: userIdSchema,
    content: contentSchema,
    messageType: z.enum(['text', 'file', 'system']),
    attachments: z.array(attachmentSchema).max(LIMITS.attachmentsMax),
    isRead: z.boolean(),
    readAt: nullableIsoDate,
    isEdited: z.boolean(),
    editedAt: nullableIsoDate,
    isDeleted: z.boolean(),
    deletedAt: nullableIsoDate,
    deliveredAt: nullableIsoDate,
    createdAt: isoDate,
    updatedAt: isoDate,
    seq: seqSchema,
    sentAt: nullableIsoDate,
    _deleted: z.boolean(),
  })
  .refine((m) => m.isRead === (m.readAt !== null), { message: 'isRead and readAt must agree', path: ['readAt'] });

const countMap = z.record(userIdSchema, z.number().int().min(0));
const nameMap = z.record(userIdSchema, z.string().max(LIMITS.nameMaxLength));

export const wireConversationSchema = z.strictObject({
  id: conversationIdSchema,
  participants: z.array(userIdSchema).length(LIMITS.participantsMax),
  job: userIdSchema.nullable(),
  lastMessage: messageIdSchema.nullable(),
  lastActivity: isoDate,
  isActive: z.boolean(),
  unreadCount: countMap,
  participantNames: nameMap,
  createdAt: isoDate,
  updatedAt: isoDate,
  seq: seqSchema,
  _deleted: z.boolean(),
});

export const collectionSchema = z.enum(COLLECTIONS);

export const checkpointSchema = z.strictObject({ seq: seqSchema });
export type Checkpoint = z.infer<typeof checkpointSchema>;

export const pullRequestSchema = z.strictObject({
  collection: z.string(),
  checkpoint: checkpointSchema.nullable().optional(),
  batchSize: z.number().int().min(1).max(LIMITS.pullMaxBatch),
});
export type PullRequest = z.infer<typeof pullRequestSchema>;

/** `sync:bootstrap`: the first read of a new replica (see docs/protocol.md, "Recent first"). */
export const bootstrapRequestSchema = z.strictObject({
  collection: z.string(),
  pageSize: z.number().int().min(1).max(LIMITS.bootstrapPageMax),
  conversations: z.number().int().min(1).max(LIMITS.bootstrapConversationsMax).optional(),
});
export type BootstrapRequest = z.infer<typeof bootstrapRequestSchema>;

/** `sync:history`: the user's feed below a position, newest first. */
export const historyRequestSchema = z.strictObject({
  collection: z.string(),
  before: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  limit: z.number().int().min(1).max(LIMITS.historyMaxBatch),
});
export type HistoryRequest = z.infer<typeof historyRequestSchema>;

/** `sync:page`: one conversation's messages below a position, newest first. */
export const pageRequestSchema = z.strictObject({
  conversationId: conversationIdSchema,
  before: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable(),
  limit: z.number().int().min(1).max(LIMITS.pageMaxBatch),
});
export type PageRequest = z.infer<typeof pageRequestSchema>;

/** The push envelope; each row is validated on its own so one bad row cannot sink the batch. */
export const pushRequestSchema = z.strictObject({
  collection: z.string(),
  rows: z.array(z.unknown()),
});
export type PushRequest = z.infer<typeof pushRequestSchema>;

export function pushRowSchema<T extends z.ZodType>(doc: T) {
  return z.strictObject({
    assumedMasterState: doc.nullable().optional(),
    newDocumentState: doc,
  });
}
export const messagePushRowSchema = pushRowSchema(wireMessageSchema);
export const conversationPushRowSchema = pushRowSchema(wireConversationSchema);

/** `messages:delivered`: messages that reached the recipient's replica. */
export const deliveredPayloadSchema = z.strictObject({
  ids: z.array(messageIdSchema).min(1).max(LIMITS.deliveredMaxIds),
});

/** `typing:start` / `typing:stop` from a client; participation is checked by the server. */
export const typingPayloadSchema = z.strictObject({ conversationId: conversationIdSchema });

// REST bodies -------------------------------------------------------------------------------

export const createConversationBodySchema = z.strictObject({
  participantId: userIdSchema,
  jobId: userIdSchema.nullable().optional(),
});

export const sendMessageBodySchema = z.strictObject({
  content: contentSchema,
  /** Optional client id: a retried POST with the same id stores once. */
  id: messageIdSchema.optional(),
  messageType: z.enum(['text', 'file']).optional(),
  attachments: z.array(attachmentSchema).max(LIMITS.attachmentsMax).optional(),
});

export const editMessageBodySchema = z.strictObject({ content: contentSchema.min(1) });

export const bulkBodySchema = z.strictObject({
  action: z.enum(['read', 'delete']),
  messageIds: z.array(messageIdSchema).min(1).max(LIMITS.bulkMaxIds),
});

export const markConversationReadBodySchema = z.strictObject({}).optional();

export const searchQuerySchema = z.strictObject({
  q: z.string().trim().min(1).max(LIMITS.searchQueryMaxLength),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});

export const registerBodySchema = z.strictObject({
  email: z.email().max(254),
  password: z.string().min(8).max(200),
  name: z.string().trim().min(1).max(LIMITS.nameMaxLength),
});

export const loginBodySchema = z.strictObject({
  email: z.email().max(254),
  password: z.string().min(1).max(200),
});

// Hostile keys --------------------------------------------------------------------------------

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 8;

/**
 * Finds a key that must never reach a store or a merge (`__proto__`, `constructor`, `prototype`,
 * `$`-operators) or nesting deeper than any valid payload has. Returns a description or null.
 */
export function findForbiddenKey(value: unknown, depth = 0): string | null {
  if (value === null || typeof value !== 'object') return null;
  if (depth > MAX_DEPTH) return 'nesting too deep';
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key) || key.startsWith('$')) return `key "${key}" is not allowed`;
    const found = findForbiddenKey((value as Record<string, unknown>)[key], depth + 1);
    if (found) return found;
  }
  return null;
}

/** A lone UTF-16 surrogate: with the `u` flag a proper pair is one code point and does not match. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Finds a string (key or value) that is not well-formed Unicode: a lone surrogate cannot be encoded
 * as UTF-8, so SQLite's text columns and MongoDB's BSON would store something else than was
 * acknowledged. Returns the path of the first one, or null. Depth is bounded by the key scan,
 * which runs first; `shallow` looks at the top level only.
 */
export function findIllFormedString(value: unknown, shallow = false, path = 'payload'): string | null {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path : null;
  if (value === null || typeof value !== 'object') return null;
  for (const key of Object.keys(value)) {
    const where = path === 'payload' ? key : `${path}.${key}`;
    if (LONE_SURROGATE.test(key)) return where;
    const child = (value as Record<string, unknown>)[key];
    const found = shallow
      ? typeof child === 'string' && LONE_SURROGATE.test(child)
        ? where
        : null
      : findIllFormedString(child, false, where);
    if (found) return found;
  }
  return null;
}

function findForbiddenTopLevelKey(value: unknown): string | null {
  if (value === null || typeof value !== 'object') return null;
  const key = Object.keys(value).find((k) => FORBIDDEN_KEYS.has(k) || k.startsWith('$'));
  return key === undefined ? null : `key "${key}" is not allowed`;
}

/** Maps a zod failure to the protocol's code and a message that names the first bad field. */
export function describeZodError(error: z.ZodError): { code: ErrorCode; message: string } {
  const tooLong = error.issues.find((i) => i.code === 'too_big' && i.path[i.path.length - 1] === 'content');
  if (tooLong) return { code: 'CONTENT_TOO_LONG', message: `content is longer than ${LIMITS.contentMaxLength} characters` };
  const first = error.issues[0];
  const where = first && first.path.length > 0 ? first.path.join('.') : 'payload';
  return { code: 'VALIDATION_FAILED', message: `${where}: ${first?.message ?? 'invalid'}` };
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

/**
 * Forbidden-key scan, then zod. The one entry point for untrusted input on both edges.
 * `shallow` scans only the top level: for envelopes whose items are parsed one by one, so one
 * hostile item is refused on its own instead of sinking the whole request.
 */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, options: { shallow?: boolean } = {}): ParseResult<T> {
  const forbidden = options.shallow ? findForbiddenTopLevelKey(input) : findForbiddenKey(input);
  if (forbidden) return { ok: false, code: 'FORBIDDEN_KEY', message: forbidden };
  const illFormed = findIllFormedString(input, options.shallow);
  if (illFormed) return { ok: false, code: 'VALIDATION_FAILED', message: `${illFormed}: must be well-formed Unicode (no lone surrogates)` };
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, ...describeZodError(parsed.error) };
}
