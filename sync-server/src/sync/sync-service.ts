import {
  type Checkpoint,
  COLLECTIONS,
  type CollectionName,
  type ConversationDoc,
  conversationPushRowSchema,
  type DocsByCollection,
  type ErrorCode,
  jsonEqual,
  LIMITS,
  type MessageDoc,
  messagePushRowSchema,
  type PullResult,
  type PushResult,
  parseInput,
  type RejectedRow,
  type Wire,
} from '@fetchwork/shared-schema';
import type { z } from 'zod';
import type { AuthUser } from '../auth/tokens';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics, PushRowOutcome } from '../observability/metrics';
import { type CommitResult, StaleWriteError, type SyncStore, type WriteOp } from '../store/port';
import type { ParticipantNames } from '../users/user-directory';
import type { ChangeBus } from './change-bus';
import { CommitFanout } from './commit-fanout';
import { ConversationCache } from './conversation-cache';
import type { ConversationLimits, Separations } from './conversation-limits';
import { decideConversationWrite } from './conversation-rules';
import { type Decision, reject } from './decision';
import { KeyedMutex } from './keyed-mutex';
import { decideMessageWrite, unreadDelta } from './message-rules';
import { type Answer, answerReads, toWire } from './stored-documents';

const MAX_ATTEMPTS = 8;

interface ParsedRow<T> {
  id: string;
  assumed: Wire<T> | null;
  proposed: Wire<T>;
}

/**
 * A push row the server built itself (REST commands, receipts) from a validated request or a
 * stored document: it is not parsed again. The rules still decide it like any client row.
 */
export interface TrustedRow<T> {
  assumedMasterState?: Wire<T> | null;
  newDocumentState: Wire<T>;
}

/**
 * The files side of a message write (implemented by FileService): whether the attachments a
 * write adds may be stored with it, and what happens to files a committed write dropped.
 */
export interface AttachmentGuard {
  checkAttachments(message: MessageDoc, before: MessageDoc | null): Promise<{ code: ErrorCode; message: string } | null>;
  messageWritten(before: MessageDoc | null, after: MessageDoc): Promise<void>;
}

/**
 * Told of every commit of messages, on the instance that made it, with the stored states before
 * it (absent: created). Must return at once: it runs on the push path (notifications queue work).
 */
export type MessagesCommittedListener = (user: AuthUser, written: readonly MessageDoc[], before: ReadonlyMap<string, MessageDoc>) => void;

export interface PushOutcome<C extends CollectionName> extends PushResult<C> {
  /** Stored states of the rows that were written (for REST answers). */
  written: DocsByCollection[C][];
  /** Rows that changed nothing. */
  noops: number;
}

/** A stored document as the wire carries it (RxDB's `_deleted`, always false here). */

export function assertCollection(name: unknown): CollectionName {
  if (typeof name === 'string' && (COLLECTIONS as readonly string[]).includes(name)) return name as CollectionName;
  throw new AppError('UNKNOWN_COLLECTION', `collection must be one of ${COLLECTIONS.join(', ')}`);
}

/**
 * Pull and push, shared by the socket handlers and the REST commands. A push is answered row by
 * row: good rows are stored in one transaction, forbidden changes come back as conflicts carrying
 * the stored state, refused creations are listed as rejected. Only a malformed request as a whole
 * throws, because RxDB retries an erroring push batch forever.
 */
export class SyncService {
  private readonly locks = new KeyedMutex();
  private readonly fanout: CommitFanout;
  private readonly conversationCache = new ConversationCache();
  private names: ParticipantNames | null = null;
  private readonly committedListeners: MessagesCommittedListener[] = [];
  private conversationLimits: ConversationLimits | null = null;
  private separations: Separations | null = null;

  /** Pulls read as answers send them (stored-documents.ts). */
  private readonly reads: ReturnType<typeof answerReads>;

  constructor(
    private readonly store: SyncStore,
    bus: ChangeBus,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
    private readonly clock: () => Date = () => new Date(),
    private readonly attachments: AttachmentGuard | null = null,
  ) {
    this.fanout = new CommitFanout(bus);
    this.reads = answerReads(store);
  }

  onMessagesCommitted(listener: MessagesCommittedListener): void {
    this.committedListeners.push(listener);
  }

  /** The rule for starting conversations (limits and blocks); without it, none. */
  useConversationLimits(limits: ConversationLimits): void {
    this.conversationLimits = limits;
  }

  /** Who may not write to whom (blocks): a new message between them is refused with BLOCKED. */
  useSeparations(separations: Separations): void {
    this.separations = separations;
  }

  /** Where new conversations take their `participantNames` from (the user directory); without it, the accounts' names. */
  useParticipantNames(names: ParticipantNames): void {
    this.names = names;
  }

  /**
   * Server writes of conversations no client asked for (a participant's new name): under the same
   * per-conversation locks and compare-and-set retries as pushes, one commit with new sequences,
   * streamed like any other change. `change` gets the stored copy and returns null to leave it.
   * Returns how many conversations were written.
   */
  rewriteConversations(ids: readonly string[], change: (c: ConversationDoc) => ConversationDoc | null): Promise<number> {
    return this.locks.runExclusive(ids, async () => {
      for (let n = 1; ; n++) {
        const now = this.clock().toISOString();
        const ops: WriteOp[] = [];
        for (const c of await this.store.getDocs('conversations', ids)) {
          const next = change(c);
          if (next)
            ops.push({ collection: 'conversations', doc: { ...next, updatedAt: now }, expectedSeq: c.seq, audience: c.participants });
        }
        if (ops.length === 0) return 0;
        try {
          const committed = await this.store.commit(ops);
          this.rememberConversations(committed);
          this.fanout.add(committed.feeds);
          return ops.length;
        } catch (err) {
          if (err instanceof StaleWriteError && n < MAX_ATTEMPTS) continue;
          throw err;
        }
      }
    });
  }

  /** Announces committed changes not yet published (before the bus closes). */
  flushFanout(): void {
    this.fanout.flush();
  }

  async pull<C extends CollectionName>(
    user: AuthUser,
    collection: C,
    checkpoint: Checkpoint | null | undefined,
    batchSize: number,
  ): Promise<Answer<PullResult<C>>> {
    const after = checkpoint?.seq ?? 0;
    if (after > (await this.store.headSeq())) {
      throw new AppError('INVALID_CHECKPOINT', 'checkpoint is ahead of this server; restart from null');
    }
    const read = await this.reads.pullFeed(user.id, collection, after, batchSize);
    this.metrics?.pulls.inc({ collection });
    const last = read.seqs[read.seqs.length - 1];
    return { documents: read.documents, checkpoint: { seq: last ?? after } };
  }

  async push<C extends CollectionName>(user: AuthUser, collection: C, rows: readonly unknown[]): Promise<PushOutcome<C>> {
    if (rows.length > LIMITS.pushMaxRows) {
      throw new AppError('BATCH_TOO_LARGE', `at most ${LIMITS.pushMaxRows} rows per push`);
    }
    const started = performance.now();
    const rejected: RejectedRow[] = [];
    const valid: TrustedRow<DocsByCollection[C]>[] = [];
    const schema = (collection === 'messages' ? messagePushRowSchema : conversationPushRowSchema) as z.ZodType<unknown>;
    for (const row of rows) {
      const result = parseInput(schema, row);
      if (result.ok) valid.push(result.value as TrustedRow<DocsByCollection[C]>);
      else rejected.push({ id: rowId(row), code: result.code, message: result.message });
    }
    return this.decideAndCommit(user, collection, valid, rejected, started);
  }

  /**
   * A push of rows the server built (see TrustedRow): the same rules, conflicts and answers as
   * `push`, without parsing rows whose every field came from a validated request or the store.
   */
  pushTrusted<C extends CollectionName>(
    user: AuthUser,
    collection: C,
    rows: readonly TrustedRow<DocsByCollection[C]>[],
  ): Promise<PushOutcome<C>> {
    return this.decideAndCommit(user, collection, rows, [], performance.now());
  }

  private async decideAndCommit<C extends CollectionName>(
    user: AuthUser,
    collection: C,
    rows: readonly TrustedRow<DocsByCollection[C]>[],
    rejected: RejectedRow[],
    started: number,
  ): Promise<PushOutcome<C>> {
    this.metrics?.pushes.inc({ collection });
    const parsed: ParsedRow<DocsByCollection[C]>[] = [];
    const seen = new Set<string>();
    for (const { assumedMasterState, newDocumentState } of rows) {
      if (seen.has(newDocumentState.id)) {
        rejected.push({ id: newDocumentState.id, code: 'VALIDATION_FAILED', message: 'the same id twice in one push' });
        continue;
      }
      seen.add(newDocumentState.id);
      parsed.push({ id: newDocumentState.id, assumed: assumedMasterState ?? null, proposed: newDocumentState });
    }
    const outcome =
      collection === 'messages'
        ? await this.pushMessages(user, parsed as unknown as ParsedRow<MessageDoc>[], started)
        : await this.pushConversations(user, parsed as unknown as ParsedRow<ConversationDoc>[], started);
    if (this.metrics) {
      // Each series starts at 0 (createMetrics): an increment by 0 would only hash its labels.
      const rows = this.metrics.pushRows;
      const count = (outcomeLabel: PushRowOutcome, n: number) => n > 0 && rows.inc({ collection, outcome: outcomeLabel }, n);
      count('stored', outcome.written.length);
      count('conflict', outcome.conflicts.length);
      count('rejected', rejected.length + outcome.rejected.length);
      count('noop', outcome.noops);
    }
    return { ...outcome, rejected: [...rejected, ...outcome.rejected] } as unknown as PushOutcome<C>;
  }

  private async pushMessages(user: AuthUser, rows: ParsedRow<MessageDoc>[], started: number): Promise<PushOutcome<'messages'>> {
    const keys = rows.map((r) => r.proposed.conversation);
    let current = new Map<string, MessageDoc>();
    const outcome = await this.locks.runExclusive(keys, () =>
      this.withRetries(
        async (now, attempt) => {
          // First attempt: a row its client believes new (no assumed state) is decided as a
          // creation without reading it, and conversations come from the cache. Both are checked
          // by the commit's compare-and-set (an existing id or a moved conversation fails it), and
          // every retry reads the store.
          const fresh = attempt > 1;
          const decideOn = async (read: readonly ParsedRow<MessageDoc>[]) => {
            current = byId(
              read.length > 0
                ? await this.store.getDocs(
                    'messages',
                    read.map((r) => r.id),
                  )
                : [],
            );
            // Only a creation is decided on its conversation, and only a write that moves an unread
            // count or the last message rewrites it: receipts and edits read no conversation.
            const decide = (r: ParsedRow<MessageDoc>, conversation: ConversationDoc | null) =>
              decideMessageWrite({ user, assumed: r.assumed, proposed: r.proposed, current: current.get(r.id) ?? null, conversation, now });
            const decisions = rows.map((r) => (current.has(r.id) ? decide(r, null) : null));
            const convIds = new Set<string>();
            rows.forEach((r, i) => {
              const d = decisions[i];
              if (!d) convIds.add(r.proposed.conversation);
              else if (d.kind === 'write' && unreadDelta(current.get(r.id)!, d.next) !== 0) convIds.add(d.next.conversation);
            });
            const conversations = await this.conversationsFor([...convIds], fresh);
            const decided = rows.map((r, i) => decisions[i] ?? decide(r, conversations.get(r.proposed.conversation) ?? null));
            await this.guardBlocks(user, decided, current);
            await this.guardAttachments(decided, current);
            return { decided, conversations };
          };
          const toRead = fresh ? rows : rows.filter((r) => r.assumed !== null);
          let { decided, conversations } = await decideOn(toRead);
          // A row decided without its read that is not a clean creation (refused, say) is decided
          // again on its stored state, which may make it a conflict or a no-op instead.
          if (toRead.length < rows.length && decided.some((d, i) => d.kind !== 'write' && rows[i]!.assumed === null)) {
            ({ decided, conversations } = await decideOn(rows));
          }
          const ops: WriteOp[] = [];
          const touched = new Map<string, ConversationDoc>();
          decided.forEach((d, i) => {
            if (d.kind !== 'write') return;
            const before = current.get(rows[i]!.id) ?? null;
            const delta = unreadDelta(before, d.next);
            ops.push({
              collection: 'messages',
              doc: d.next,
              expectedSeq: before?.seq ?? null,
              audience: [d.next.sender, d.next.recipient],
            });
            // A delivery receipt or an edit changes nothing the conversation shows: rewriting it
            // would stream it to both participants and store it (twice) on every device.
            if (before && delta === 0) return;
            const conv = conversations.get(d.next.conversation);
            if (!conv) throw new Error(`conversation ${d.next.conversation} vanished`);
            const next = touched.get(conv.id) ?? { ...conv, unreadCount: { ...conv.unreadCount } };
            if (!before) {
              next.lastMessage = d.next.id;
              next.lastActivity = now;
            }
            if (delta !== 0) next.unreadCount[d.next.recipient] = Math.max(0, (next.unreadCount[d.next.recipient] ?? 0) + delta);
            next.updatedAt = now;
            touched.set(conv.id, next);
          });
          for (const conv of touched.values()) {
            ops.push({ collection: 'conversations', doc: conv, expectedSeq: conversations.get(conv.id)!.seq, audience: conv.participants });
          }
          return { decisions: decided, rowIds: rows.map((r) => r.id), ops };
        },
        'messages',
        started,
      ),
    );
    if (outcome.written.length > 0) {
      for (const listener of this.committedListeners) {
        try {
          listener(user, outcome.written, current);
        } catch (err) {
          this.log.error({ err }, 'a messages-committed listener failed');
        }
      }
    }
    if (this.attachments) {
      for (const after of outcome.written) {
        const before = current.get(after.id) ?? null;
        if (!before?.attachments.length) continue;
        this.attachments
          .messageWritten(before, after)
          .catch((err) => this.log.error({ err, messageId: after.id }, 'could not delete the files a message dropped'));
      }
    }
    return outcome;
  }

  private async pushConversations(
    user: AuthUser,
    rows: ParsedRow<ConversationDoc>[],
    started: number,
  ): Promise<PushOutcome<'conversations'>> {
    const userIds = [...new Set(rows.flatMap((r) => r.proposed.participants))];
    const names = this.names
      ? await this.names.namesFor(userIds)
      : (Object.fromEntries((await this.store.getUsers(userIds)).flatMap((u) => (u.name ? [[u.id, u.name]] : []))) as Record<
          string,
          string
        >);
    // Creations already counted against the user's window by an earlier attempt of this push.
    const charged = new Set<string>();
    return this.locks.runExclusive(
      rows.map((r) => r.id),
      () =>
        this.withRetries(
          async (now) => {
            const current = byId(
              await this.store.getDocs(
                'conversations',
                rows.map((r) => r.id),
              ),
            );
            const decisions = rows.map((r) =>
              decideConversationWrite({ user, assumed: r.assumed, proposed: r.proposed, current: current.get(r.id) ?? null, now, names }),
            );
            await this.limitCreations(user, decisions, charged);
            const ops: WriteOp[] = [];
            for (const d of decisions) {
              if (d.kind === 'write')
                ops.push({ collection: 'conversations', doc: d.next, expectedSeq: null, audience: d.next.participants });
            }
            return { decisions, rowIds: rows.map((r) => r.id), ops };
          },
          'conversations',
          started,
        ),
    );
  }

  /** New conversations pass the rule for starting them (conversation-limits.ts) or are refused row by row. */
  private async limitCreations(user: AuthUser, decisions: Decision<ConversationDoc>[], charged: Set<string>): Promise<void> {
    if (!this.conversationLimits) return;
    const created = decisions.flatMap((d, i) => (d.kind === 'write' ? [{ i, doc: d.next }] : []));
    const refusals = await this.conversationLimits.check(
      user.id,
      created.map((c) => c.doc),
      charged,
    );
    refusals.forEach((refusal, n) => {
      if (refusal) decisions[created[n]!.i] = reject(refusal.code, refusal.message);
    });
  }

  /** A new message between two users of whom one blocked the other is refused (BLOCKED). */
  private async guardBlocks(user: AuthUser, decided: Decision<MessageDoc>[], current: Map<string, MessageDoc>): Promise<void> {
    if (!this.separations) return;
    const creations = decided.flatMap((d, i) => (d.kind === 'write' && !current.has(d.next.id) ? [i] : []));
    if (creations.length === 0) return;
    const separated = await this.separations.separatedFrom(user.id);
    if (separated.size === 0) return;
    for (const i of creations) {
      const d = decided[i]!;
      if (d.kind === 'write' && (separated.has(d.next.recipient) || separated.has(d.next.sender))) {
        decided[i] = reject('BLOCKED', 'this conversation is blocked: no new messages');
      }
    }
  }

  /**
   * A write that adds attachments is stored only when the files may go with it; otherwise a new
   * message is refused and a change to a stored one comes back as a conflict, with the reason.
   */
  private async guardAttachments(decided: Decision<MessageDoc>[], current: Map<string, MessageDoc>): Promise<void> {
    for (const [i, d] of decided.entries()) {
      if (d.kind !== 'write' || d.next.attachments.length === 0) continue;
      const before = current.get(d.next.id) ?? null;
      const refusal = this.attachments
        ? await this.attachments.checkAttachments(d.next, before)
        : before && jsonEqual(before.attachments, d.next.attachments)
          ? null
          : { code: 'ATTACHMENT_INVALID' as const, message: 'this server takes no files' };
      if (!refusal) continue;
      decided[i] = before ? { kind: 'conflict', master: before, reason: refusal } : reject(refusal.code, refusal.message);
    }
  }

  /** Conversations by id: the store's, or on a first attempt the cache's where it holds them. */
  private async conversationsFor(ids: readonly string[], fresh: boolean): Promise<Map<string, ConversationDoc>> {
    const found = new Map<string, ConversationDoc>();
    const missing: string[] = [];
    for (const id of ids) {
      const cached = fresh ? undefined : this.conversationCache.get(id);
      if (cached) found.set(id, cached);
      else missing.push(id);
    }
    if (missing.length > 0) {
      for (const doc of await this.store.getDocs('conversations', missing)) {
        this.conversationCache.remember(doc);
        found.set(doc.id, doc);
      }
    }
    return found;
  }

  private rememberConversations(committed: CommitResult): void {
    for (const { collection, doc } of committed.docs) {
      if (collection === 'conversations') this.conversationCache.remember(doc as ConversationDoc);
    }
  }

  /** Decide and commit; on a lost compare-and-set race, read again and decide again. */
  private async withRetries<C extends CollectionName>(
    attempt: (now: string, attempt: number) => Promise<{ decisions: Decision<DocsByCollection[C]>[]; rowIds: string[]; ops: WriteOp[] }>,
    collection: C,
    started: number,
  ): Promise<PushOutcome<C>> {
    for (let n = 1; ; n++) {
      const { decisions, rowIds, ops } = await attempt(this.clock().toISOString(), n);
      let committed: CommitResult;
      try {
        committed = await this.store.commit(ops);
        this.rememberConversations(committed);
      } catch (err) {
        if (err instanceof StaleWriteError && n < MAX_ATTEMPTS) {
          this.log.debug({ collection, attempt: n }, 'push lost a race; retrying');
          continue;
        }
        throw err;
      }
      if (committed.feeds.length > 0) {
        this.fanout.add(committed.feeds);
        this.metrics?.pushToBroadcast.observe({ collection }, (performance.now() - started) / 1000);
      }
      const conflicts: Wire<DocsByCollection[C]>[] = [];
      const rejected: RejectedRow[] = [];
      decisions.forEach((d, i) => {
        if (d.kind === 'conflict') {
          conflicts.push(toWire(d.master));
          if (d.reason) rejected.push({ id: rowIds[i] ?? null, ...d.reason });
        } else if (d.kind === 'reject') {
          rejected.push({ id: rowIds[i] ?? null, code: d.code, message: d.message });
        }
      });
      const written = committed.docs.filter((w) => w.collection === collection).map((w) => w.doc as DocsByCollection[C]);
      return { conflicts, rejected, written, noops: decisions.filter((d) => d.kind === 'noop').length };
    }
  }
}

function byId<T extends { id: string }>(docs: readonly T[]): Map<string, T> {
  return new Map(docs.map((d) => [d.id, d]));
}

function rowId(row: unknown): string | null {
  if (typeof row !== 'object' || row === null) return null;
  const doc = (row as { newDocumentState?: unknown }).newDocumentState;
  if (typeof doc !== 'object' || doc === null) return null;
  const id = (doc as { id?: unknown }).id;
  return typeof id === 'string' && id.length <= LIMITS.docIdMaxLength ? id : null;
}
