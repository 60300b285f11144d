import { LIMITS } from './protocol';

/** User and job ids: FetchWork's 24-hex ObjectIds, or any token-safe id. No `.`: see conversationIdFor. */
export const USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** UUID (any version, v7 recommended) or ULID; or a 24-hex ObjectId of a message FetchWork's old API wrote. */
export const MESSAGE_ID_PATTERN = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9A-HJKMNP-TV-Z]{26}|[0-9a-f]{24})$/i;
/** A derived id (see conversationIdFor), or a 24-hex ObjectId of a conversation the old API wrote. */
export const CONVERSATION_ID_PATTERN = /^(?:c(?:\.[A-Za-z0-9_-]{1,64}){2}(?:\.j\.[A-Za-z0-9_-]{1,64})?|[0-9a-f]{24})$/;

/**
 * The conversation id is derived from its participants and job, so two devices that create
 * "the same" conversation offline produce the same id and converge instead of duplicating.
 * `.` never occurs in a user or job id, which keeps the encoding unambiguous.
 */
export function conversationIdFor(participants: readonly string[], job: string | null | undefined): string {
  const sorted = [...new Set(participants)].sort();
  // Exactly two id-shaped participants keep the encoding injective (`c.a.b.j.x` has one reading).
  if (sorted.length !== 2 || !sorted.every((p) => USER_ID_PATTERN.test(p))) {
    throw new RangeError('a conversation has exactly two distinct participants with id-shaped ids');
  }
  if (job && !USER_ID_PATTERN.test(job)) throw new RangeError('job must be an id');
  const base = `c.${sorted.join('.')}`;
  const id = job ? `${base}.j.${job}` : base;
  if (id.length > LIMITS.docIdMaxLength) throw new RangeError('conversation id too long');
  return id;
}

export function sortedParticipants(participants: readonly string[]): string[] {
  return [...new Set(participants)].sort();
}

/** A new message id: UUIDv7, so ids sort by creation time on the creating device. */
export { v7 as newMessageId } from 'uuid';
