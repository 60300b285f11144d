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

const messageFields = {
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
};
const readAgrees = (m: { isRead: boolean; readAt: string | null }) => m.isRead === (m.readAt !== null);
const readAgreement = { message: 'isRead and readAt must agree', path: ['readAt'] };

/** A message with every field: what the server stores and sends, and what an update row carries. */
export const wireMessageSchema = z.strictObject(messageFields).refine(readAgrees, readAgreement);

/**
 * A time for a field whose value the server replaces (createdAt, updatedAt, a conversation's
 * lastActivity) when a creation leaves it out: the parse time, as a client's clock would give.
 */
const placeholderTime = () => new Date().toISOString();

/**
 * The fields a message creation must carry (docs/protocol.md, "Minimal creation"). Everything
 * else the seed schema does not require, or only the server sets, is read as the state of a new,
 * unsent message when left out.
 */
export const MESSAGE_CREATION_REQUIRED = ['id', 'conversation', 'sender', 'recipient', 'content'] as const;

/**
 * A message as a creation row may carry it: the omitted fields take the values of a new message
 * (newMessageDoc), so the parsed value is a full document and the rules judge it like one. The
 * defaults are the least a client may claim (not read, delivered, edited or deleted, no server
 * fields), so a default never grants anything a client could not have sent explicitly.
 */
export const wireMessageCreationSchema = z
  .strictObject({
    ...messageFields,
    messageType: messageFields.messageType.default('text'),
    attachments: messageFields.attachments.default(() => []),
    isRead: messageFields.isRead.default(false),
    readAt: messageFields.readAt.default(null),
    isEdited: messageFields.isEdited.default(false),
    editedAt: messageFields.editedAt.default(null),
    isDeleted: messageFields.isDeleted.default(false),
    deletedAt: messageFields.deletedAt.default(null),
    deliveredAt: messageFields.deliveredAt.default(null),
    createdAt: messageFields.createdAt.default(placeholderTime),
    updatedAt: messageFields.updatedAt.default(placeholderTime),
    seq: messageFields.seq.default(0),
    sentAt: messageFields.sentAt.default(null),
    _deleted: messageFields._deleted.default(false),
  })
  .refine(readAgrees, readAgreement);

const countMap = z.record(userIdSchema, z.number().int().min(0));
const nameMap = z.record(userIdSchema, z.string().max(LIMITS.nameMaxLength));

const conversationFields = {
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
};

export const wireConversationSchema = z.strictObject(conversationFields);

/** What a conversation creation must carry; `job` is optional in the seed schema, the rest is the server's. */
export const CONVERSATION_CREATION_REQUIRED = ['id', 'participants'] as const;

/** A conversation as a creation row may carry it: no job, and the server's fields as a new conversation has them. */
export const wireConversationCreationSchema = z.strictObject({
  ...conversationFields,
  job: conversationFields.job.default(null),
  lastMessage: conversationFields.lastMessage.default(null),
  lastActivity: conversationFields.lastActivity.default(placeholderTime),
  isActive: conversationFields.isActive.default(true),
  unreadCount: conversationFields.unreadCount.default(() => ({})),
  participantNames: conversationFields.participantNames.default(() => ({})),
  createdAt: conversationFields.createdAt.default(placeholderTime),
  updatedAt: conversationFields.updatedAt.default(placeholderTime),
  seq: conversationFields.seq.default(0),
  _deleted: conversationFields._deleted.default(false),
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

/** A JSON object (what JSON.parse makes), not an array, Map, Date or other instance. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * One push row, read so that the rules downstream always get full documents:
 *
 * - a **creation** (no `assumedMasterState`, or null) is read with `creation`: the fields a new
 *   document does not need take their defaults;
 * - an **update** row's `assumedMasterState` is read the same way (a partial one can only be a
 *   creation the client pushed itself: the server only ever sends full documents), and every field
 *   its `newDocumentState` leaves out is the assumed master's: "what I did not mention is as I last
 *   saw it". An omission never means "set to the default": in an update that would read as
 *   un-delivering, un-reading or dropping every attachment (which deletes the files).
 *
 * Either way the parsed row is one the client could have sent in full itself, then validated with
 * the full, strict schema, so the rules (ownership, forged server fields, conflicts) judge exactly
 * what they judged before.
 */
export function pushRowSchema<T extends Record<string, unknown>>(full: z.ZodType<T>, creation: z.ZodType<T>) {
  return z
    .strictObject({
      assumedMasterState: creation.nullable().optional(),
      newDocumentState: z.unknown(),
    })
    .transform((row, ctx): { assumedMasterState?: T | null; newDocumentState: T } => {
      const assumed = row.assumedMasterState ?? null;
      const proposed = row.newDocumentState;
      const parsed =
        assumed === null ? creation.safeParse(proposed) : full.safeParse(isPlainObject(proposed) ? { ...assumed, ...proposed } : proposed);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          ctx.issues.push({ ...issue, path: ['newDocumentState', ...issue.path] } as (typeof ctx.issues)[number]);
        }
        return z.NEVER;
      }
      return row.assumedMasterState === undefined
        ? { newDocumentState: parsed.data }
        : { assumedMasterState: assumed, newDocumentState: parsed.data };
    });
}
export const messagePushRowSchema = pushRowSchema(wireMessageSchema, wireMessageCreationSchema);
export const conversationPushRowSchema = pushRowSchema(wireConversationSchema, wireConversationCreationSchema);

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
  /** "Keep me signed in on this device": a refresh cookie that outlives the browser session. */
  keepSignedIn: z.boolean().optional(),
});

/** The confirmation token of a mailed link: 32 random bytes, base64url (43 characters). */
export const confirmBodySchema = z.strictObject({
  token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a confirmation token'),
  keepSignedIn: z.boolean().optional(),
});

export const loginBodySchema = z.strictObject({
  email: z.email().max(254),
  password: z.string().min(1).max(200),
  keepSignedIn: z.boolean().optional(),
});

// Hostile keys --------------------------------------------------------------------------------

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 8;

type ScanFinding = { code: 'FORBIDDEN_KEY' | 'VALIDATION_FAILED'; message: string };

/** A lone UTF-16 surrogate: with the `u` flag a proper pair is one code point and does not match. */
const LONE_SURROGATE = /\p{Cs}/u;
// ES2024's native check where the runtime has it (Node 20, current browsers); the regex elsewhere.
const isWellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !LONE_SURROGATE.test(s);

/**
 * One walk over untrusted input for what must never reach a store or a merge:
 * - a forbidden key (`__proto__`, `constructor`, `prototype`, `$`-operators) or nesting deeper
 *   than any valid payload has: FORBIDDEN_KEY, wherever it is (it wins over the next finding);
 * - a string, key or value, that is not well-formed Unicode: a lone surrogate cannot be encoded
 *   as UTF-8, so SQLite's text columns and MongoDB's BSON would store something else than was
 *   acknowledged. VALIDATION_FAILED naming the path of the first one.
 * `shallow` looks at the top level only (envelopes whose items are parsed one by one). The path
 * is kept as a stack of keys and joined only for a finding.
 */
class InputScan {
  private readonly path: string[] = [];
  private illFormed: string | null = null;

  constructor(private readonly shallow: boolean) {}

  run(value: unknown): ScanFinding | null {
    const forbidden = this.visit(value, 0);
    if (forbidden) return { code: 'FORBIDDEN_KEY', message: forbidden };
    if (this.illFormed) return { code: 'VALIDATION_FAILED', message: `${this.illFormed}: must be well-formed Unicode (no lone surrogates)` };
    return null;
  }

  private noteString(s: string, key?: string): void {
    if (this.illFormed !== null || isWellFormed(s)) return;
    const at = key === undefined ? this.path : [...this.path, key];
    this.illFormed = at.length === 0 ? 'payload' : at.join('.');
  }

  private visit(value: unknown, depth: number): string | null {
    if (typeof value === 'string') {
      this.noteString(value);
      return null;
    }
    if (value === null || typeof value !== 'object') return null;
    if (depth > MAX_DEPTH) return 'nesting too deep';
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key) || key.startsWith('$')) return `key "${key}" is not allowed`;
      this.noteString(key, key);
      const child = (value as Record<string, unknown>)[key];
      if (this.shallow) {
        if (typeof child === 'string') this.noteString(child, key);
        continue;
      }
      this.path.push(key);
      const found = this.visit(child, depth + 1);
      this.path.pop();
      if (found) return found;
    }
    return null;
  }
}

/**
 * Finds a key that must never reach a store or a merge (`__proto__`, `constructor`, `prototype`,
 * `$`-operators) or nesting deeper than any valid payload has. Returns a description or null.
 */
export function findForbiddenKey(value: unknown): string | null {
  const found = new InputScan(false).run(value);
  return found?.code === 'FORBIDDEN_KEY' ? found.message : null;
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
 * The input scan (forbidden keys, lone surrogates: `InputScan`), then zod. The one entry point
 * for untrusted input on both edges.
 * `shallow` scans only the top level: for envelopes whose items are parsed one by one, so one
 * hostile item is refused on its own instead of sinking the whole request.
 */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, options: { shallow?: boolean } = {}): ParseResult<T> {
  const unsafe = new InputScan(options.shallow ?? false).run(input);
  if (unsafe) return { ok: false, ...unsafe };
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, ...describeZodError(parsed.error) };
}
