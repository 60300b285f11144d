/**
 * Errors at the protocol edge are values: `{ error: { code, message } }`, with `code` from this
 * closed list. Socket acks and REST bodies (beside the legacy auth answers) use the same shape.
 */
export const ERROR_CODES = [
  /** No token, a bad token, an expired token. */
  'UNAUTHORIZED',
  /** The payload does not have the expected shape or types. */
  'VALIDATION_FAILED',
  /** A message's content exceeds LIMITS.contentMaxLength. */
  'CONTENT_TOO_LONG',
  /** A key such as `__proto__`, `constructor`, `prototype` or one starting with `$`. */
  'FORBIDDEN_KEY',
  /** `collection` is not one of COLLECTIONS. */
  'UNKNOWN_COLLECTION',
  /** The checkpoint is not one this server issued. */
  'INVALID_CHECKPOINT',
  /** More rows or documents than the server takes at once. */
  'BATCH_TOO_LARGE',
  /** The caller is not a participant, or may not change this field or document. */
  'FORBIDDEN',
  /** The write would change a field only the server sets. */
  'SERVER_FIELD',
  /** The document does not exist (or is not visible to the caller). */
  'NOT_FOUND',
  /** A message refers to a conversation the server does not know yet (retryable). */
  'CONVERSATION_NOT_FOUND',
  /** The id is already used by a different document. */
  'ID_TAKEN',
  /** Too many requests; slow down. */
  'RATE_LIMITED',
  /** Something failed on the server; the request may be retried. */
  'INTERNAL',
  /** A file is larger than the per-file limit, or a message's files exceed the per-message limit. */
  'FILE_TOO_LARGE',
  /** The file's type (as its bytes show, or as declared) is not on the allowed list. */
  'FILE_TYPE_NOT_ALLOWED',
  /** The file's bytes are not of the type it was declared as. */
  'FILE_TYPE_MISMATCH',
  /** The user's stored files would exceed their quota. */
  'QUOTA_EXCEEDED',
  /** The scanner found malware in the file. */
  'FILE_INFECTED',
  /** An attachment does not name a file this sender uploaded, completed and had checked for this conversation. */
  'ATTACHMENT_INVALID',
  /** An attachment names a file whose upload is not complete yet (retryable). */
  'ATTACHMENT_NOT_READY',
  /** A signed download link whose time is up or whose signature does not match. */
  'LINK_EXPIRED',
  /**
   * The client speaks a protocol version older than the server serves (docs/protocol.md,
   * "Versions"): it must load the new version of the app. Refused at the socket handshake.
   */
  'UPGRADE_REQUIRED',
  /** The server has no VAPID keys: Web Push is off on this deployment. */
  'PUSH_DISABLED',
  /** The session was signed out, signed out everywhere, or ended because an old refresh credential was reused: sign in again. */
  'SESSION_REVOKED',
  /** A registration confirmation link that is unknown, expired, already used, or for an email that has an account meanwhile. */
  'CONFIRMATION_INVALID',
  /** This server does not issue sessions here (a FetchWork deployment: FetchWork signs users in). */
  'AUTH_DISABLED',
  /** One of the two users blocked the other: no new messages or conversations between them. */
  'BLOCKED',
  /**
   * Too many conversations with the same person that they never answered: wait for a reply in
   * one of them (final for this row; the per-window limit answers RATE_LIMITED instead).
   */
  'CONVERSATION_LIMIT',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

export function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    'error' in value &&
    typeof (value as ErrorBody).error === 'object' &&
    (value as ErrorBody).error !== null &&
    typeof (value as ErrorBody).error.code === 'string'
  );
}

/** Codes of rejected rows that a client should retry later rather than mark as failed. */
export const RETRYABLE_REJECT_CODES: readonly ErrorCode[] = ['CONVERSATION_NOT_FOUND', 'RATE_LIMITED', 'INTERNAL', 'ATTACHMENT_NOT_READY'];
