import {
  type Attachment,
  type ConversationDoc,
  conversationIdFor,
  LIMITS,
  type MessageDoc,
  newConversationDoc,
  newMessageDoc,
  newMessageId,
  sortedParticipants,
  USER_ID_PATTERN,
} from '@fetchwork/shared-schema';
import type { RxDocument } from 'rxdb';
import type { InboxDatabase } from '../db/collections';
import type { OutboxStore } from '../db/outbox-store';
import type { UnsentMessages } from '../db/unsent-messages';
import type { MessageView, SessionUser } from '../inbox-api';
import { otherParticipant, toMessageView } from './views';

/** A command the caller got wrong (bad input, not your message, …); nothing was written. */
export class InboxCommandError extends Error {
  override name = 'InboxCommandError';
  constructor(
    readonly code: 'INVALID_INPUT' | 'NOT_FOUND' | 'FORBIDDEN',
    message: string,
  ) {
    super(message);
  }
}

const now = () => new Date().toISOString();

function checkContent(content: string): void {
  if (content.trim().length === 0) throw new InboxCommandError('INVALID_INPUT', 'a message needs some text');
  if (content.length > LIMITS.contentMaxLength) {
    throw new InboxCommandError('INVALID_INPUT', `a message has at most ${LIMITS.contentMaxLength} characters`);
  }
}

/**
 * Told about each of the user's messages written by this tab: the background-send mirror
 * (notifications/controller.ts) follows unsent text messages.
 */
export interface OwnMessageWrites {
  inserted(doc: MessageDoc, conversation: ConversationDoc): void;
  /** After an edit or deletion. */
  changed(doc: MessageDoc): void;
}

/**
 * Local-first commands: each writes the replica and returns; replication pushes when it can.
 * A new message or conversation needs nothing else: it is pending while its `seq` is 0 (see
 * unsent-messages.ts). An edit or deletion of a stored message also takes an outbox entry, so
 * that it counts as pending until the server confirms it; a read receipt takes none (it is not
 * counted, and a refusal is recorded as a failure all the same). The checks mirror the server's
 * rules so a write the server would refuse is refused here first.
 */
export class InboxCommandHandlers {
  constructor(
    private readonly db: InboxDatabase,
    private readonly user: SessionUser,
    private readonly outbox: OutboxStore,
    private readonly unsent: UnsentMessages,
    private readonly writes: OwnMessageWrites | null = null,
    /** The leader tab's replication may push a new message while it is being stored (sync/send-ahead.ts). */
    private readonly sendAhead: ((doc: MessageDoc, conversation: ConversationDoc, stored: Promise<unknown>) => void) | null = null,
    /** Shows a new message while it is being stored, and takes it back if storing fails (arrivals.ts). */
    private readonly early: { add(docs: readonly MessageDoc[]): void; withdraw(id: string): void } | null = null,
  ) {}

  async createConversation(participantId: string, jobId?: string | null, participantName?: string): Promise<string> {
    if (!USER_ID_PATTERN.test(participantId)) throw new InboxCommandError('INVALID_INPUT', 'not a user id');
    if (jobId && !USER_ID_PATTERN.test(jobId)) throw new InboxCommandError('INVALID_INPUT', 'not a job id');
    if (participantId === this.user.id) throw new InboxCommandError('INVALID_INPUT', 'a conversation needs another participant');
    const participants = sortedParticipants([this.user.id, participantId]);
    const id = conversationIdFor(participants, jobId ?? null);
    if (await this.db.conversations.findOne(id).exec()) return id;
    const at = now();
    const names: Record<string, string> = { [this.user.id]: this.user.name.slice(0, LIMITS.nameMaxLength) };
    if (participantName) names[participantId] = participantName.slice(0, LIMITS.nameMaxLength);
    const doc = newConversationDoc({ participants, job: jobId ?? null, at, participantNames: names });
    try {
      await this.db.conversations.insert(doc);
    } catch (err) {
      // Created meanwhile by another tab or by replication: same id, same conversation.
      if (await this.db.conversations.findOne(id).exec()) return id;
      throw err;
    }
    return id;
  }

  async sendMessage(conversationId: string, content: string): Promise<MessageView> {
    checkContent(content);
    const conv = await this.writableConversation(conversationId);
    return this.insertMessage(conv, { id: newMessageId(), content, attachments: [] });
  }

  /** The conversation a new message goes into, if the user may write there. */
  async writableConversation(conversationId: string): Promise<ConversationDoc> {
    const conv = await this.db.conversations.findOne(conversationId).exec();
    if (!conv) throw new InboxCommandError('NOT_FOUND', 'no such conversation');
    if (!conv.participants.includes(this.user.id)) throw new InboxCommandError('FORBIDDEN', 'not a participant of this conversation');
    return conv.toJSON() as ConversationDoc;
  }

  /** Writes a new message whose content was checked; attachments make it a file message. */
  async insertMessage(conv: ConversationDoc, m: { id: string; content: string; attachments: Attachment[] }): Promise<MessageView> {
    const doc = newMessageDoc({
      id: m.id,
      conversation: conv.id,
      sender: this.user.id,
      recipient: otherParticipant(conv, this.user.id),
      content: m.content,
      messageType: m.attachments.length > 0 ? 'file' : 'text',
      attachments: m.attachments,
      at: now(),
    });
    // Counted as unsent from the moment it is stored (seq 0): no bookkeeping write.
    await this.unsent.cover(doc.createdAt);
    const stored = this.db.messages.insert(doc);
    this.sendAhead?.(doc, conv, stored);
    // After the push left: showing it renders in the next microtask.
    this.early?.add([doc]);
    try {
      await stored;
    } catch (err) {
      this.early?.withdraw(doc.id);
      throw err;
    }
    this.writes?.inserted(doc, conv);
    return toMessageView(doc, this.user.id, null);
  }

  async editMessage(messageId: string, content: string): Promise<void> {
    checkContent(content);
    const doc = await this.ownMessage(messageId);
    if (doc.isDeleted) throw new InboxCommandError('FORBIDDEN', 'a deleted message cannot be edited');
    if (doc.content === content) return;
    await this.write(doc, (d) => ({ ...d, content, isEdited: true, editedAt: now() }));
  }

  async deleteMessage(messageId: string): Promise<void> {
    await this.deleteMessages([messageId]);
  }

  async deleteMessages(messageIds: readonly string[]): Promise<void> {
    const docs = await this.findAll(messageIds);
    for (const doc of docs.values()) {
      if (doc.sender !== this.user.id) throw new InboxCommandError('FORBIDDEN', 'only the sender deletes a message');
    }
    await Promise.all(
      [...docs.values()].map(async (doc) => {
        if (await this.outbox.failure('messages', doc.id)) return this.discard(doc);
        if (doc.isDeleted) return;
        await this.write(doc, (d) => ({
          ...d,
          isDeleted: true,
          deletedAt: now(),
          content: '',
          attachments: [],
          isEdited: false,
          editedAt: null,
        }));
      }),
    );
  }

  async markRead(messageIds: readonly string[]): Promise<void> {
    const docs = await this.db.messages.findByIds([...messageIds]).exec();
    await Promise.all(
      [...docs.values()]
        .filter((d) => d.recipient === this.user.id && !d.isRead)
        .map((doc) =>
          // A receipt is not counted as pending: no outbox entry.
          doc.incrementalModify((d) => {
            if (d.isRead) return d;
            const at = now();
            return { ...d, isRead: true, readAt: at, deliveredAt: d.deliveredAt ?? at };
          }),
        ),
    );
  }

  async markConversationRead(conversationId: string): Promise<void> {
    const unread = await this.db.messages
      .find({ selector: { recipient: this.user.id, isRead: false, conversation: conversationId } })
      .exec();
    await this.markRead(unread.map((d) => d.id));
  }

  /** Sends a failed message again: a new local revision makes replication push it. */
  async retryMessage(messageId: string): Promise<void> {
    const doc = await this.ownMessage(messageId);
    await this.retryConversationOf(doc);
    await this.outbox.markPending('messages', doc.id);
    // updatedAt is the server's on any stored message; this one was never stored.
    await doc.incrementalModify((d) => ({ ...d, updatedAt: now() }));
  }

  async discardMessage(messageId: string): Promise<void> {
    const doc = await this.ownMessage(messageId);
    if (doc.seq > 0) throw new InboxCommandError('FORBIDDEN', 'the server has this message: delete it instead');
    await this.discard(doc);
  }

  private async retryConversationOf(doc: RxDocument<MessageDoc>): Promise<void> {
    const failed = await this.outbox.failure('conversations', doc.conversation);
    if (!failed) return;
    const conv = await this.db.conversations.findOne(doc.conversation).exec();
    if (!conv) return;
    await this.outbox.markPending('conversations', conv.id);
    await conv.incrementalModify((c) => ({ ...c, updatedAt: now() }));
  }

  private async discard(doc: RxDocument<MessageDoc>): Promise<void> {
    // The push modifier drops removed documents the server never accepted (seq 0).
    await doc.remove();
    await this.outbox.remove('messages', doc.id);
  }

  private async ownMessage(messageId: string): Promise<RxDocument<MessageDoc>> {
    const doc = await this.db.messages.findOne(messageId).exec();
    if (!doc) throw new InboxCommandError('NOT_FOUND', 'no such message');
    if (doc.sender !== this.user.id) throw new InboxCommandError('FORBIDDEN', 'not your message');
    return doc;
  }

  private async findAll(ids: readonly string[]): Promise<Map<string, RxDocument<MessageDoc>>> {
    const docs = await this.db.messages.findByIds([...ids]).exec();
    for (const id of ids) if (!docs.has(id)) throw new InboxCommandError('NOT_FOUND', `no such message: ${id}`);
    return docs;
  }

  /** Queues the entry first, so the write is never unaccounted for; drops it if nothing changed. */
  private async write(doc: RxDocument<MessageDoc>, change: (d: MessageDoc) => MessageDoc): Promise<void> {
    await this.outbox.markPending('messages', doc.id);
    const after = await doc.incrementalModify(change);
    if (after.revision === doc.revision) await this.outbox.clearPending('messages', doc.id);
    else this.writes?.changed(after.toJSON() as MessageDoc);
  }
}
