import {
  type CollectionName,
  type ConversationDoc,
  isFirstServerState,
  LIMITS,
  type MessageDoc,
  PROTOCOL_VERSION,
  type Wire,
} from '@fetchwork/shared-schema';
import { combineLatest, debounceTime, filter, map, merge, type Observable, Subscription } from 'rxjs';
import type { InboxDatabase } from '../db/collections';
import type { HistoryStore } from '../db/history-store';
import type { OutboxStore } from '../db/outbox-store';
import { Uploader, type UploaderOptions } from '../files/uploader';
import { startAutoDelivery } from './auto-delivery';
import { CollectionSync, type InitialSyncProgress, type SyncTuning } from './collection-sync';
import { createConversationGate } from './conversation-gate';
import { ConversationPages } from './conversation-pages';
import { HistoryBackfill } from './history-backfill';
import { OutboxSweeper, type TrackedCollection, trackOutbox } from './outbox-tracker';
import { receiptStampHold } from './receipt-hold';
import { recordRefusals } from './refusals';
import type { SyncSocket } from './socket';
import { conversationSummaryHold } from './summary-hold';
import { composeGates, holdPendingUploads } from './upload-gate';
import { WalkGate } from './walk-gate';

export interface SyncEngineOptions {
  db: InboxDatabase;
  socket: SyncSocket;
  userId: string;
  /** Part of the replication identifier: another server means other checkpoints. */
  serverUrl: string;
  outbox: OutboxStore;
  history: HistoryStore;
  tuning: SyncTuning;
  /** Uploads queued files (null: this inbox sends no files, e.g. some tests). */
  files: Omit<UploaderOptions, 'messages'> | null;
}

export const DEFAULT_TUNING: SyncTuning = {
  ackTimeoutMs: 15_000,
  retryTimeMs: 2_000,
  pullBatchSize: 250,
  pushBatchSize: 50,
  maxRetryAttempts: 10,
  bootstrapConversations: 500,
  bootstrapMessagesPerConversation: 20,
  bootstrapPagedConversations: 50,
  historyBatchSize: 1000,
  deliveryGraceMs: 250,
  conversationSummaryHoldMs: 1_500,
  receiptStampHoldMs: 1_500,
  sendAhead: true,
};

/** Each batch knob, and the largest value the protocol accepts in the request it sizes (validators.ts). */
const BATCH_BOUNDS = {
  pullBatchSize: LIMITS.pullMaxBatch,
  pushBatchSize: LIMITS.pushMaxRows,
  bootstrapConversations: LIMITS.bootstrapPageMax,
  bootstrapMessagesPerConversation: LIMITS.bootstrapMessagesPerConversationMax,
  bootstrapPagedConversations: LIMITS.bootstrapConversationsMax,
  historyBatchSize: LIMITS.historyMaxBatch,
} as const satisfies Partial<Record<keyof SyncTuning, number>>;

/**
 * The tuning with every batch size inside what the server accepts: a request sized beyond it is
 * refused as malformed every time it is retried, so a history walk tuned to 2,000 documents a
 * page never ended (it stored nothing past its first refusal and asked again every 2 s).
 */
export function boundedTuning(tuning: SyncTuning): SyncTuning {
  const out = { ...tuning };
  for (const [key, max] of Object.entries(BATCH_BOUNDS) as [keyof typeof BATCH_BOUNDS, number][]) {
    const n = Math.floor(out[key]);
    out[key] = Number.isFinite(n) ? Math.min(max, Math.max(1, n)) : DEFAULT_TUNING[key];
  }
  return out;
}

/**
 * Everything only the leader tab does: replicate both collections, mark incoming messages
 * delivered, and settle the outbox. Conversations start first so that their creations are
 * usually on the server before the messages that need them (the gate covers the rest).
 */
export class SyncEngine {
  readonly conversations: CollectionSync<'conversations'>;
  readonly messages: CollectionSync<'messages'>;
  /** A conversation's older messages on demand, from the server. */
  readonly pages: ConversationPages;
  /** Holds the history walk back while the user waits for a conversation's pages (walk-gate.ts). */
  readonly walkGate = new WalkGate();
  private readonly backfills: HistoryBackfill<CollectionName>[];
  /** Only the leader uploads: two tabs must never send the same file. */
  readonly uploader: Uploader | null;
  private readonly abort = new AbortController();
  private readonly subs = new Subscription();
  private readonly socket: SyncSocket;
  private readonly tuning: SyncTuning;

  constructor(o: SyncEngineOptions) {
    const { db, socket, tuning, outbox, history } = o;
    this.socket = socket;
    this.tuning = tuning;
    const signal = this.abort.signal;
    const id = (name: CollectionName) => `fetchwork-v${PROTOCOL_VERSION}-${name}-${o.serverUrl}`;
    const summaryHold =
      tuning.conversationSummaryHoldMs > 0 ? conversationSummaryHold(db.conversations, tuning.conversationSummaryHoldMs) : null;
    if (summaryHold) this.subs.add(() => summaryHold.stop());
    const receiptHold = tuning.receiptStampHoldMs > 0 ? receiptStampHold(db.messages, o.userId, tuning.receiptStampHoldMs) : null;
    if (receiptHold) this.subs.add(() => receiptHold.stop());
    this.conversations = new CollectionSync({
      name: 'conversations',
      collection: db.conversations,
      socket,
      replicationIdentifier: id('conversations'),
      tuning,
      signal,
      recordFailures: (rows) => recordRefusals(outbox, db.conversations, 'conversations', rows),
      // Conversations are never removed; a removal could only be a local accident.
      skipPush: (doc) => doc._deleted,
      hold: summaryHold ?? undefined,
      bootstrap: { pageSize: tuning.bootstrapConversations, begin: (cursor) => history.begin('conversations', cursor) },
    });
    this.messages = new CollectionSync({
      name: 'messages',
      collection: db.messages,
      socket,
      replicationIdentifier: id('messages'),
      tuning,
      signal,
      recordFailures: (rows) => recordRefusals(outbox, db.messages, 'messages', rows),
      // Held rows first: a row that will not go out needs no conversation pushed for it.
      beforePush: composeGates(
        holdPendingUploads,
        createConversationGate({
          conversations: db.conversations,
          socket,
          ackTimeoutMs: tuning.ackTimeoutMs,
          signal,
          recordConversationFailures: (rows) => recordRefusals(outbox, db.conversations, 'conversations', rows),
        }),
      ),
      // A discarded draft the server never accepted: nothing to tell it.
      skipPush: (doc) => doc._deleted && (doc as Wire<MessageDoc>).seq === 0,
      hold: receiptHold ?? undefined,
      // Sent by someone else and untouched since the server stored it: new to this replica
      // unless another route (a page, the walk) brought it first.
      streamedNew: (doc) => doc.sender !== o.userId && !doc._deleted && isFirstServerState(doc),
      streamedAfter: () => this.conversations.streamedStored,
      bootstrap: {
        pageSize: tuning.bootstrapMessagesPerConversation,
        conversations: tuning.bootstrapPagedConversations,
        begin: (cursor) => history.begin('messages', cursor),
      },
    });
    this.pages = new ConversationPages({ socket, writer: this.messages.writer, ackTimeoutMs: tuning.ackTimeoutMs, signal });
    this.backfills = [this.conversations, this.messages].map(
      (sync) =>
        new HistoryBackfill<CollectionName>({
          name: sync.name,
          socket,
          writer: sync.writer as never,
          history,
          batchSize: tuning.historyBatchSize,
          ackTimeoutMs: tuning.ackTimeoutMs,
          retryTimeMs: tuning.retryTimeMs,
          started: sync.state.startPromise,
          gate: this.walkGate,
          signal,
        }),
    );

    const tracked = [
      {
        name: 'conversations',
        collection: db.conversations,
        replication: this.conversations.state,
        stored$: this.conversations.writer.stored$,
      },
      { name: 'messages', collection: db.messages, replication: this.messages.state, stored$: this.messages.writer.stored$ },
    ] as TrackedCollection<CollectionName>[];
    this.subs.add(trackOutbox(outbox, tracked));
    const sweeper = new OutboxSweeper(outbox, tracked, signal);
    this.subs.add(
      this.active$()
        .pipe(
          filter((active) => !active),
          debounceTime(250),
        )
        .subscribe(() => void sweeper.sweep().catch(() => undefined)),
    );
    this.uploader = o.files ? new Uploader({ ...o.files, messages: db.messages }) : null;
    this.subs.add(
      startAutoDelivery({
        messages: db.messages,
        // The bootstrap, the history walk and conversation pages are stored by the writer, past RxDB.
        received$: merge(this.messages.state.received$, this.messages.writer.stored$) as Observable<MessageDoc>,
        userId: o.userId,
        socket,
        ackTimeoutMs: tuning.ackTimeoutMs,
        graceMs: tuning.deliveryGraceMs,
        signal,
      }),
    );
  }

  /** True while either replication is exchanging data. */
  active$(): Observable<boolean> {
    return combineLatest([this.conversations.state.active$, this.messages.state.active$]).pipe(map(([a, b]) => a || b));
  }

  /**
   * A text message this tab is writing now (`stored`: its local write) goes to the server at once
   * when nothing written before it is still to be pushed, so it cannot overtake one; otherwise,
   * and for file messages (they wait for their uploads) or a conversation the server does not
   * know yet, RxDB's upstream pushes it as usual.
   */
  sendAhead(doc: MessageDoc, conversation: ConversationDoc, stored: Promise<unknown>): void {
    if (!this.tuning.sendAhead || !this.socket.connected || this.abort.signal.aborted) return;
    if (conversation.seq === 0 || doc.messageType !== 'text' || doc.attachments.length > 0) return;
    if (!this.conversations.upstreamIdle || !this.messages.upstreamIdle) return;
    this.messages.sendAhead({ ...doc, _deleted: false }, stored);
  }

  /** Progress of the very first sync of this replica (null once a checkpoint exists). */
  initialSync$(): Observable<InitialSyncProgress | null> {
    return combineLatest([this.conversations.initialSync$, this.messages.initialSync$]).pipe(
      map(([a, b]) =>
        a || b ? { received: (a?.received ?? 0) + (b?.received ?? 0), done: (a?.done ?? true) && (b?.done ?? true) } : null,
      ),
    );
  }

  /** Resolves when both collections are in sync with the server (leader only). */
  async awaitInSync(): Promise<void> {
    await Promise.all([this.conversations.state.awaitInSync(), this.messages.state.awaitInSync()]);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.subs.unsubscribe();
    for (const backfill of this.backfills) backfill.stop();
    await Promise.all([this.messages.stop(), this.conversations.stop(), this.uploader?.stop()]);
  }
}
