import {
  type ConversationDoc,
  conversationIdFor,
  type MessageDoc,
  newConversationDoc,
  newMessageDoc,
  newMessageId,
  type RejectedRow,
  sortedParticipants,
  type Wire,
} from '@fetchwork/shared-schema';
import type { AuthUser } from '../auth/tokens';
import { AppError } from '../errors';
import type { SyncStore } from '../store/port';
import type { SyncService } from '../sync/sync-service';

const wire = <T>(doc: T): Wire<T> => ({ ...doc, _deleted: false });

/**
 * Rows a bulk command reads or writes between two turns of the event loop. The SQLite store is
 * synchronous: one read of a whole conversation (10,000 messages) held every other socket for
 * ~370 ms; a chunk of 250 costs a few milliseconds.
 */
const BULK_CHUNK = 250;

/** Lets the I/O that arrived meanwhile (other users' events and requests) run before the next chunk. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The inbox commands behind the REST API. Every write is expressed as a push row and goes
 * through SyncService, so REST and the socket protocol share one set of rules and every REST
 * write reaches real-time clients through the same commit → stream path.
 */
export class MessagingService {
  constructor(
    private readonly store: SyncStore,
    private readonly sync: SyncService,
    private readonly users: { note(user: AuthUser): Promise<void> } | null = null,
  ) {}

  /** Lets the user directory learn the name a REST request's token carries (cheap when known). */
  noteUser(user: AuthUser): void {
    void this.users?.note(user);
  }

  listConversations(user: AuthUser): Promise<ConversationDoc[]> {
    return this.store.listConversations(user.id);
  }

  async conversationFor(user: AuthUser, conversationId: string): Promise<ConversationDoc> {
    const [conv] = await this.store.getDocs('conversations', [conversationId]);
    // A conversation the caller is not part of answers like a missing one: nothing leaks.
    if (!conv?.participants.includes(user.id)) throw new AppError('NOT_FOUND', 'conversation not found');
    return conv;
  }

  async listMessages(user: AuthUser, conversationId: string, options: { limit: number; beforeSeq?: number }): Promise<MessageDoc[]> {
    await this.conversationFor(user, conversationId);
    return this.store.listMessages(conversationId, options);
  }

  /** Returns the existing conversation for the same participants and job, or creates it. */
  async createConversation(
    user: AuthUser,
    participantId: string,
    jobId: string | null,
  ): Promise<{ conversation: ConversationDoc; created: boolean }> {
    if (participantId === user.id) throw new AppError('VALIDATION_FAILED', 'participantId must be another user');
    const participants = sortedParticipants([user.id, participantId]);
    const id = conversationIdFor(participants, jobId);
    const [existing] = await this.store.getDocs('conversations', [id]);
    if (existing) return { conversation: existing, created: false };
    const now = new Date().toISOString();
    const proposal = newConversationDoc({ participants, job: jobId, at: now });
    const outcome = await this.sync.pushTrusted(user, 'conversations', [{ newDocumentState: wire(proposal) }]);
    throwIfRefused(outcome.rejected);
    const [stored] = await this.store.getDocs('conversations', [id]);
    if (!stored) throw new Error('conversation missing after create');
    return { conversation: stored, created: outcome.written.length > 0 };
  }

  async sendMessage(
    user: AuthUser,
    conversationId: string,
    input: { content: string; id?: string; messageType?: 'text' | 'file'; attachments?: MessageDoc['attachments'] },
  ): Promise<MessageDoc> {
    const conv = await this.conversationFor(user, conversationId);
    const recipient = conv.participants.find((p) => p !== user.id);
    if (!recipient) throw new AppError('FORBIDDEN', 'conversation has no other participant');
    const attachments = input.attachments ?? [];
    if (input.content.trim() === '' && attachments.length === 0) throw new AppError('VALIDATION_FAILED', 'content: must not be empty');
    const now = new Date().toISOString();
    const proposal = newMessageDoc({
      id: input.id ?? newMessageId(),
      conversation: conv.id,
      sender: user.id,
      recipient,
      content: input.content,
      messageType: input.messageType ?? (attachments.length > 0 ? 'file' : 'text'),
      attachments,
      at: now,
    });
    const outcome = await this.sync.pushTrusted(user, 'messages', [{ newDocumentState: wire(proposal) }]);
    throwIfRefused(outcome.rejected);
    const [stored] = await this.store.getDocs('messages', [proposal.id]);
    if (!stored) throw new Error('message missing after send');
    if (outcome.conflicts.length > 0 && stored.sender !== user.id) throw new AppError('ID_TAKEN', 'this id is already used');
    return stored;
  }

  /** Applies a change to the caller's view of messages; each is authorised like a socket push. */
  private async change(
    user: AuthUser,
    ids: readonly string[],
    edit: (m: MessageDoc) => MessageDoc,
  ): Promise<{ updated: MessageDoc[]; rejected: RejectedRow[] }> {
    const { visible, missing } = await this.visibleMessages(user, ids);
    const rows = visible.map((m) => ({ assumedMasterState: wire(m), newDocumentState: wire(edit(m)) }));
    const outcome = rows.length > 0 ? await this.sync.pushTrusted(user, 'messages', rows) : { rejected: [] as RejectedRow[] };
    const updated = await this.store.getDocs(
      'messages',
      visible.map((m) => m.id),
    );
    return { updated, rejected: [...missing, ...outcome.rejected] };
  }

  /** The caller's messages among `ids`; the others are answered NOT_FOUND, foreign or not. */
  private async visibleMessages(user: AuthUser, ids: readonly string[]): Promise<{ visible: MessageDoc[]; missing: RejectedRow[] }> {
    const current = await this.store.getDocs('messages', ids);
    const visible = current.filter((m) => m.sender === user.id || m.recipient === user.id);
    const found = new Set(visible.map((m) => m.id));
    const missing: RejectedRow[] = ids
      .filter((id) => !found.has(id))
      .map((id) => ({ id, code: 'NOT_FOUND', message: 'message not found' }));
    return { visible, missing };
  }

  private async changeOne(user: AuthUser, id: string, edit: (m: MessageDoc) => MessageDoc): Promise<MessageDoc> {
    const { updated, rejected } = await this.change(user, [id], edit);
    throwIfRefused(rejected);
    const [doc] = updated;
    if (!doc) throw new AppError('NOT_FOUND', 'message not found');
    return doc;
  }

  editMessage(user: AuthUser, id: string, content: string): Promise<MessageDoc> {
    // Proposing a visible message makes the rules refuse the edit of a deleted one (delete is sticky).
    return this.changeOne(user, id, (m) => ({ ...m, content, isEdited: true, isDeleted: false, deletedAt: null }));
  }

  deleteMessage(user: AuthUser, id: string): Promise<MessageDoc> {
    return this.changeOne(user, id, (m) => ({ ...m, isDeleted: true, content: '', attachments: [], isEdited: false, editedAt: null }));
  }

  /**
   * Delivery receipts from the recipient's replica. The rules decide as for a pushed receipt
   * (only the recipient, never undone, the server stamps the time); already delivered messages
   * change nothing. Sent outside the messages replication so a replica never holds its incoming
   * stream for a receipt's round trip.
   */
  async markDelivered(user: AuthUser, ids: readonly string[]): Promise<{ delivered: number; rejected: RejectedRow[] }> {
    // One read, one commit (every receipt of the request in it, no conversation rewrite) and no
    // read-back: a receipt of 1,000 messages cost four reads of each before.
    const { visible, missing } = await this.visibleMessages(user, ids);
    // Already delivered ones would be no-ops: they are not even proposed.
    const rows = visible
      .filter((m) => m.deliveredAt === null)
      .map((m) => ({ assumedMasterState: wire(m), newDocumentState: wire(deliveredEdit(m)) }));
    if (rows.length === 0) return { delivered: 0, rejected: missing };
    const outcome = await this.sync.pushTrusted(user, 'messages', rows);
    // Every write of this push is a receipt of a message that was undelivered.
    const delivered = outcome.written.filter((m) => m.deliveredAt !== null).length;
    return { delivered, rejected: [...missing, ...outcome.rejected] };
  }

  markRead(user: AuthUser, id: string): Promise<MessageDoc> {
    return this.changeOne(user, id, markReadEdit);
  }

  /**
   * Marks every message to the caller in the conversation read. Worked through page by page
   * (BULK_CHUNK messages, newest first) with a turn of the event loop between pages, so a
   * conversation of 10,000 messages never holds the process: other users' requests are served
   * between chunks. A marked message gets a new seq above the cursor, so no page is skipped or
   * seen twice; messages that arrive meanwhile are newer than the request and stay unread.
   */
  async markConversationRead(user: AuthUser, conversationId: string): Promise<{ updated: number }> {
    await this.conversationFor(user, conversationId);
    let updated = 0;
    let beforeSeq: number | undefined;
    for (;;) {
      const page = await this.store.listMessages(conversationId, { limit: BULK_CHUNK, beforeSeq });
      const unread = page.filter((m) => m.recipient === user.id && !m.isRead && !m.isDeleted).map((m) => m.id);
      if (unread.length > 0) {
        const result = await this.change(user, unread, markReadEdit);
        updated += result.updated.filter((m) => m.isRead).length;
      }
      const oldest = page[0];
      if (!oldest || page.length < BULK_CHUNK) return { updated };
      beforeSeq = oldest.seq;
      await yieldToEventLoop();
    }
  }

  /** At most LIMITS.bulkMaxIds ids, in chunks of BULK_CHUNK with a turn of the event loop between. */
  async bulk(
    user: AuthUser,
    action: 'read' | 'delete',
    ids: readonly string[],
  ): Promise<{ updated: MessageDoc[]; rejected: RejectedRow[] }> {
    const edit = action === 'read' ? markReadEdit : (m: MessageDoc) => ({ ...m, isDeleted: true, content: '', attachments: [] });
    const result = { updated: [] as MessageDoc[], rejected: [] as RejectedRow[] };
    for (let i = 0; i < ids.length; i += BULK_CHUNK) {
      if (i > 0) await yieldToEventLoop();
      const part = await this.change(user, ids.slice(i, i + BULK_CHUNK), edit);
      result.updated.push(...part.updated);
      result.rejected.push(...part.rejected);
    }
    return result;
  }

  unreadCount(user: AuthUser): Promise<number> {
    return this.store.countUnread(user.id);
  }

  search(user: AuthUser, query: string, limit: number): Promise<MessageDoc[]> {
    return this.store.searchMessages(user.id, query, limit);
  }
}

function deliveredEdit(m: MessageDoc): MessageDoc {
  return m.deliveredAt === null ? { ...m, deliveredAt: new Date().toISOString() } : m;
}

function markReadEdit(m: MessageDoc): MessageDoc {
  return { ...m, isRead: true, readAt: m.readAt ?? new Date().toISOString(), deliveredAt: m.deliveredAt ?? new Date().toISOString() };
}

function throwIfRefused(rejected: readonly RejectedRow[]): void {
  const [first] = rejected;
  if (first) throw new AppError(first.code, first.message);
}
