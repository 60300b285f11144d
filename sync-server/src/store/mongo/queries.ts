import type { PipelineStage, Types } from 'mongoose';
import { objectIdFor, type Ref, toRef } from './ids';
import { COLLECTION_NAMES } from './schemas';

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
 * The user's feed below a position (what `countFeedBefore` counts). Records without a seq
 * (legacy, before the backfill) never match a number range, as they never match a pull.
 */
export function feedBeforeFilter(userId: string, beforeSeq: number): Record<string, unknown> {
  return { audience: toRef(userId), seq: { $lt: beforeSeq } };
}

/** The user's feed below a position, newest first: the pull index read backwards. */
export function feedBeforeQuery(userId: string, beforeSeq: number, limit: number): FindSpec {
  return { filter: feedBeforeFilter(userId, beforeSeq), sort: { seq: -1 }, limit };
}

/** Conversations per aggregation of `newestMessagesPipelines`, far below the server's pipeline length limit. */
export const NEWEST_MESSAGES_CHUNK = 100;

/**
 * The newest `perConversation` messages below `beforeSeq` of each conversation: one bounded
 * backwards range scan of `messaging_conversation_seq` per conversation, chained with
 * `$unionWith` so a chunk of conversations costs one round trip instead of one each. A
 * `$group` over all their messages would read every message of every conversation instead.
 */
export function newestMessagesPipelines(conversationIds: readonly string[], perConversation: number, beforeSeq: number): PipelineStage[][] {
  const newest = (id: string): PipelineStage.UnionWithPipelineStage[] => [
    { $match: { conversation: objectIdFor(id), seq: { $lt: beforeSeq } } },
    { $sort: { seq: -1, _id: -1 } },
    { $limit: perConversation },
  ];
  const ids = [...new Set(conversationIds)];
  const pipelines: PipelineStage[][] = [];
  for (let i = 0; i < ids.length; i += NEWEST_MESSAGES_CHUNK) {
    const [first, ...rest] = ids.slice(i, i + NEWEST_MESSAGES_CHUNK) as [string, ...string[]];
    pipelines.push([...newest(first), ...rest.map((id) => ({ $unionWith: { coll: COLLECTION_NAMES.messages, pipeline: newest(id) } }))]);
  }
  return pipelines;
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
