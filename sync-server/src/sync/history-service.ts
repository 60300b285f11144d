import {
  type BootstrapResult,
  type CollectionName,
  type HistoryCursor,
  type HistoryResult,
  LIMITS,
  type PageResult,
} from '@fetchwork/shared-schema';
import type { AuthUser } from '../auth/tokens';
import { AppError } from '../errors';
import type { Metrics } from '../observability/metrics';
import type { SyncStore } from '../store/port';
import { type Answer, answerReads, type DocumentsRead } from './stored-documents';

/** A bound above every sequence: "no upper bound" for reads that take one. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/**
 * How many conversations a messages bootstrap brings pages for: as asked (all it may by
 * default), but no more than fit in one answer. Each field is valid on its own, so a request
 * beyond the product is not refused; the conversations left out are paged like any other.
 */
function conversationsThatFit(pageSize: number, asked: number | undefined): number {
  return Math.min(asked ?? LIMITS.bootstrapConversationsMax, Math.floor(LIMITS.bootstrapMessagesMax / pageSize));
}

/**
 * Recent first (docs/protocol.md): the newest documents of a new replica, then its history
 * below them newest first, and one conversation's older pages on demand. The user's feed head
 * is read first and bounds every other read of a bootstrap, so whatever commits meanwhile has a
 * higher sequence and arrives through live replication from that head; a document rewritten
 * while its older page is read has moved above the head and is left to the live side too.
 */
export class HistoryService {
  private readonly reads: ReturnType<typeof answerReads>;

  constructor(
    private readonly store: SyncStore,
    private readonly metrics?: Metrics,
  ) {
    this.reads = answerReads(store);
  }

  async bootstrap<C extends CollectionName>(
    user: AuthUser,
    collection: C,
    pageSize: number,
    conversations?: number,
  ): Promise<Answer<BootstrapResult<C>>> {
    this.metrics?.historyReads.inc({ event: 'sync:bootstrap', collection });
    // A page per conversation for up to bootstrapConversationsMax conversations: bounded so one
    // answer stays a first screen's worth, not the whole history in one frame.
    if (collection === 'messages' && pageSize > LIMITS.bootstrapMessagesPerConversationMax) {
      throw new AppError('BATCH_TOO_LARGE', `at most ${LIMITS.bootstrapMessagesPerConversationMax} messages per conversation`);
    }
    if (collection === 'conversations' && conversations !== undefined) {
      throw new AppError('VALIDATION_FAILED', 'conversations applies to a bootstrap of messages; pageSize counts conversations');
    }
    const head = await this.store.feedHead(user.id, collection);
    if (head === 0) return { documents: [], checkpoint: null, history: null };
    const result =
      collection === 'conversations'
        ? await this.bootstrapConversations(user, head, pageSize)
        : await this.bootstrapMessages(user, head, pageSize, conversationsThatFit(pageSize, conversations));
    return result as unknown as Answer<BootstrapResult<C>>;
  }

  private async bootstrapConversations(user: AuthUser, head: number, pageSize: number): Promise<Answer<BootstrapResult<'conversations'>>> {
    const read = await this.reads.feedBefore(user.id, 'conversations', head + 1, pageSize);
    return { documents: read.documents, checkpoint: { seq: head }, history: await this.cursorBelow(user, 'conversations', read, pageSize) };
  }

  private async bootstrapMessages(
    user: AuthUser,
    head: number,
    pageSize: number,
    conversations: number,
  ): Promise<Answer<BootstrapResult<'messages'>>> {
    // Which conversations is only a choice, not data sent, so it is not bounded by the head: a
    // conversation's row moves one sequence past the message that changed it, so with the
    // bound the conversation of the user's latest message would always be left out.
    const recent = await this.store.feedBefore(user.id, 'conversations', UNBOUNDED, conversations);
    const messages = await this.reads.newestMessages(
      recent.map((c) => c.id),
      pageSize,
      head + 1,
    );
    const remaining = await this.store.countFeedBefore(user.id, 'messages', head + 1);
    // The walk re-reads everything at or below the head; what it repeats the client already holds.
    return { documents: messages.documents, checkpoint: { seq: head }, history: { before: head + 1, remaining } };
  }

  async history<C extends CollectionName>(user: AuthUser, collection: C, before: number, limit: number): Promise<Answer<HistoryResult<C>>> {
    this.metrics?.historyReads.inc({ event: 'sync:history', collection });
    await this.assertKnownPosition(before);
    const read = await this.reads.feedBefore(user.id, collection, before, limit);
    return { documents: read.documents, history: await this.cursorBelow(user, collection, read, limit) };
  }

  async page(user: AuthUser, conversationId: string, before: number | null, limit: number): Promise<Answer<PageResult>> {
    this.metrics?.historyReads.inc({ event: 'sync:page', collection: 'messages' });
    if (before !== null) await this.assertKnownPosition(before);
    const [conversation] = await this.store.getDocs('conversations', [conversationId]);
    // A conversation the caller is not part of answers like a missing one: nothing leaks.
    if (!conversation?.participants.includes(user.id)) throw new AppError('NOT_FOUND', 'conversation not found');
    const read = await this.reads.newestMessages([conversationId], limit, before ?? UNBOUNDED);
    const oldest = read.seqs[read.seqs.length - 1];
    return { documents: read.documents, before: oldest !== undefined && read.seqs.length === limit ? oldest : null };
  }

  /** A full page may have more below it; a short one was the end of the feed. */
  private async cursorBelow(
    user: AuthUser,
    collection: CollectionName,
    newestFirst: DocumentsRead<unknown>,
    limit: number,
  ): Promise<HistoryCursor | null> {
    const oldest = newestFirst.seqs[newestFirst.seqs.length - 1];
    if (oldest === undefined || newestFirst.seqs.length < limit) return null;
    return { before: oldest, remaining: await this.store.countFeedBefore(user.id, collection, oldest) };
  }

  /** Like pull's checkpoint check: a position past this server's head came from another database. */
  private async assertKnownPosition(before: number): Promise<void> {
    if (before > (await this.store.headSeq()) + 1) {
      throw new AppError('INVALID_CHECKPOINT', 'before is ahead of this server; bootstrap again');
    }
  }
}
