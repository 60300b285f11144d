import { describeZodError, type ErrorCode, type ParseResult, parseInput } from '@fetchwork/shared-schema';
import type { z } from 'zod';

/** Fields that size a read: over their maximum the client should ask for less, not fix its payload. */
const SIZE_FIELDS: ReadonlySet<PropertyKey> = new Set(['limit', 'pageSize', 'conversations']);

/**
 * `parseInput` for the recent-first reads, with the codes a client acts on: a size over its
 * maximum is BATCH_TOO_LARGE, a `before` that is not a positive integer INVALID_CHECKPOINT
 * (bootstrap again), anything else what `parseInput` says (as pull maps checkpoint errors).
 */
export function parseReadRequest<T>(schema: z.ZodType<T>, payload: unknown): ParseResult<T> {
  const parsed = parseInput(schema, payload);
  if (parsed.ok || parsed.code !== 'VALIDATION_FAILED') return parsed;
  const checked = schema.safeParse(payload);
  if (checked.success) return parsed;
  // Only when the answer describes zod's first issue: otherwise it names an ill-formed string.
  if (describeZodError(checked.error).message !== parsed.message) return parsed;
  const code = codeFor(checked.error.issues[0], payload);
  return code ? { ...parsed, code } : parsed;
}

function codeFor(issue: z.core.$ZodIssue | undefined, payload: unknown): ErrorCode | null {
  if (issue?.path.length !== 1) return null;
  const field = issue.path[0]!;
  if (SIZE_FIELDS.has(field) && issue.code === 'too_big') return 'BATCH_TOO_LARGE';
  // A missing `before` is a malformed payload; a present one that is not a position is a bad checkpoint.
  if (field === 'before' && typeof payload === 'object' && payload !== null && Object.hasOwn(payload, 'before'))
    return 'INVALID_CHECKPOINT';
  return null;
}
