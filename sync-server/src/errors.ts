import type { ErrorCode } from '@fetchwork/shared-schema';

const HTTP_STATUS: Record<ErrorCode, number> = {
  UNAUTHORIZED: 401,
  VALIDATION_FAILED: 400,
  CONTENT_TOO_LONG: 400,
  FORBIDDEN_KEY: 400,
  UNKNOWN_COLLECTION: 400,
  INVALID_CHECKPOINT: 400,
  BATCH_TOO_LARGE: 413,
  FORBIDDEN: 403,
  SERVER_FIELD: 403,
  NOT_FOUND: 404,
  CONVERSATION_NOT_FOUND: 404,
  ID_TAKEN: 409,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  FILE_TOO_LARGE: 413,
  FILE_TYPE_NOT_ALLOWED: 415,
  FILE_TYPE_MISMATCH: 415,
  QUOTA_EXCEEDED: 413,
  FILE_INFECTED: 422,
  ATTACHMENT_INVALID: 422,
  ATTACHMENT_NOT_READY: 409,
  LINK_EXPIRED: 403,
  UPGRADE_REQUIRED: 426,
  PUSH_DISABLED: 404,
  SESSION_REVOKED: 401,
  AUTH_DISABLED: 404,
  BLOCKED: 403,
  CONVERSATION_LIMIT: 403,
  CONFIRMATION_INVALID: 400,
};

/** An expected failure with a protocol code; handlers turn it into `{ error: { code, message } }`. */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }
}
