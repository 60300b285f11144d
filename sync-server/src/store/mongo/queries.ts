import type { Types } from 'mongoose';
import { objectIdFor, type Ref, toRef } from './ids';

/**
 * The filters, sorts and limits behind each read of the port, kept pure so their shape (and so
 * the index each one can use, listed in schemas.ts) is unit-tested without a server.
 */

export type SortSpec = Record<string, 1 | -1>;

export interface FindSpec {
  filter: Record<string, unknown>;
  sort: SortSpec;
  limit?: number;
}

export function byIdsFilter(ids: readonly string[]): { _id: { $in: Types.ObjectId[] } } {
  return { _id: { $in: [...new Set(ids)].map(objectIdFor) } };
}

/** The user's feed after a position: index `messaging_feed` (audience, seq), read in seq order. */
export function feedQuery(userId: string, afterSeq: number, limit: number): FindSpec {
  return { filter: { audience: toRef(userId), seq: { $gt: afterSeq } }, sort: { seq: 1 }, limit };
}

/** The user's current feed position: the same index read backwards, one entry. */
export function feedHeadQuery(userId: string): FindSpec {
  return { filter: { audience: toRef(userId), seq: { $type: 'number' } }, sort: { seq: -1 }, limit: 1 };
}

/**
 * By participant (FetchWork's own lookup, so legacy conversations are listed before any
 * backfill), newest activity first; `_id` breaks ties so the order is stable.
 */
export function conversationsOfQuery(userId: string): FindSpec {
  return { filter: { participants: toRef(userId) }, sort: { lastActivity: -1, _id: 1 } };
}

/**
 * The newest `limit` messages of a conversation before `beforeSeq`, newest first; the caller
 * reverses the page to oldest first. Legacy records without a seq sort as the oldest, among
 * themselves by `_id` (the old API's ObjectIds grow with creation time).
 */
export function messagePageQuery(conversationId: string, options: { limit: number; beforeSeq?: number }): FindSpec {
  const filter: Record<string, unknown> = { conversation: objectIdFor(conversationId) };
  if (options.beforeSeq !== undefined) filter.seq = { $lt: options.beforeSeq };
  return { filter, sort: { seq: -1, _id: -1 }, limit: options.limit };
}

/** `$ne: true` rather than `false`, so legacy records that lack the flag count as unread/not deleted. */
export function unreadFilter(userId: string): Record<string, unknown> {
  return { recipient: toRef(userId), isRead: { $ne: true }, isDeleted: { $ne: true } };
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * The query as one literal substring, case-insensitive, like the SQLite adapter's LIKE (the
 * reference adapter matches the whole query, not each term). It walks the user's feed index
 * newest first and tests content on the way: the cost grows with the user's messages, not all.
 */
export function searchQuery(userId: string, query: string, limit: number): FindSpec {
  return {
    filter: { audience: toRef(userId), isDeleted: { $ne: true }, content: { $regex: escapeRegex(query), $options: 'i' } },
    sort: { seq: -1 },
    limit,
  };
}

export function usersByIdsFilter(ids: readonly string[]): { _id: { $in: Ref[] } } {
  return { _id: { $in: [...new Set(ids)].map(toRef) } };
}
