import { type Attachment, type FileLimits, type FileLink, fallbackParticipantName, type MessageDoc } from '@fetchwork/shared-schema';
import type { RxStorage } from 'rxdb';
import {
  BehaviorSubject,
  combineLatest,
  debounceTime,
  distinctUntilChanged,
  EMPTY,
  first,
  firstValueFrom,
  fromEventPattern,
  map,
  merge,
  type Observable,
  of,
  type Subscription,
  scan,
  shareReplay,
  startWith,
  switchMap,
  tap,
} from 'rxjs';
import type { InboxDatabase } from '../db/collections';
import { databaseNameFor, type OpenDatabaseOptions, openInboxDatabase } from '../db/database';
import type { DevModeKit } from '../db/dev-mode';
import { type HistoryProgress, HistoryStore } from '../db/history-store';
import { OutboxStore } from '../db/outbox-store';
import { UnsentMessages } from '../db/unsent-messages';
import { FileApi } from '../files/file-api';
import type { OutgoingFile } from '../files/file-limits';
import { FileQueue, fileQueueNameFor, type IndexedDbDeps } from '../files/file-queue';
import { DEFAULT_UPLOAD_TUNING, type UploadTuning } from '../files/uploader';
import type {
  ConnectionState,
  ConversationView,
  FileUploadView,
  Inbox,
  MessageView,
  SearchHit,
  SessionUser,
  UnsentWork,
} from '../inbox-api';
import { createNotifications, type NotificationsController, type NotificationsOptions } from '../notifications/controller';
import type { InitialSyncProgress, SyncTuning } from '../sync/collection-sync';
import { leaderChannelName, soleLeadership, TabElection, type TabLeadership } from '../sync/leadership';
import { createPresenceClient } from '../sync/presence-client';
import { connectSyncSocket, type SocketConnection, type SyncSocket } from '../sync/socket';
import { boundedTuning, DEFAULT_TUNING, SyncEngine } from '../sync/sync-engine';
import { Arrivals } from './arrivals';
import { Blocks } from './blocks';
import { InboxCommandError, InboxCommandHandlers } from './commands';
import { connectionState$ } from './connection-state';
import { FileCommands } from './file-commands';
import { noPresence, type PresenceClient, type PresenceFactory } from './presence';
import { InboxQueries } from './queries';
import { MessageSearch } from './search/message-search';
import { highlightRuns } from './search/terms';
import { toMessageView } from './views';

const SEARCH_RERUN_DEBOUNCE_MS = 250;

export interface CreateInboxOptions {
  user: SessionUser;
  /** Origin of the sync server (Socket.io endpoint), e.g. http://localhost:10000. */
  serverUrl: string;
  /** The current JWT; asked on every (re)connect, so return a refreshed one when you have it. */
  getToken: () => string | null | Promise<string | null>;
  /** Default: Dexie on the page's IndexedDB. Tests: getInboxStorage({ indexedDB, IDBKeyRange }) from fake-indexeddb (db/dexie-storage.ts). */
  storage?: RxStorage<any, any>;
  /** Development and tests only: `import.meta.env.DEV ? (await import('./db/dev-mode')).devModeKit : undefined`. */
  devMode?: DevModeKit;
  /** Default databaseNameFor(user.id). */
  databaseName?: string;
  /** Default true (tabs share the replica; one of them replicates). */
  multiInstance?: boolean;
  /** Tests only: open the same database twice in one process, as two tabs (needs devMode). */
  ignoreDuplicate?: boolean;
  /** Tests only: the replica's collections as another release defines them (see OpenDatabaseOptions). */
  collections?: OpenDatabaseOptions['collections'];
  transports?: ('websocket' | 'polling')[];
  reconnectionDelayMs?: number;
  reconnectionDelayMaxMs?: number;
  /** Tests only: the protocol version the handshake names (default PROTOCOL_VERSION), to play an older app. */
  protocolVersion?: number;
  tuning?: Partial<SyncTuning>;
  /** Presence and typing over this tab's socket; default createPresenceClient, null for none. */
  presence?: PresenceFactory | null;
  /** Where the page announces `freeze` and `resume` (see leadership.ts); default `document`. Tests pass their own. */
  lifecycle?: EventTarget | null;
  /**
   * Files in messages. The queue lives in IndexedDB (default: the page's; tests pass
   * fake-indexeddb); null, or no IndexedDB at all, turns files off (sending one then throws).
   */
  files?: { indexedDB?: IndexedDbDeps; upload?: Partial<UploadTuning>; fetch?: typeof fetch } | null;
  /** Notifications, settings and background send (notifications/controller.ts); on in browsers, null turns them off. */
  notifications?: NotificationsOptions | null;
}

/** The Inbox plus what the app shell and tests need beyond the UI contract. */
export interface InboxHandle extends Inbox {
  /** As in Inbox; `participantName` is shown until the server's name for them arrives. */
  createConversation(participantId: string, jobId?: string | null, participantName?: string): Promise<string>;
  /** Connects again after `unauthorized` (once getToken returns a valid token) or a manual disconnect. */
  reconnect(): void;
  /** This tab's socket (for presence and typing). */
  readonly socket: SyncSocket;
  readonly database: InboxDatabase;
  /** The replication, in the leader tab only (null elsewhere). */
  sync(): SyncEngine | null;
  /** Resolves with the replication once this tab leads (never in a tab that does not). */
  whenLeader(): Promise<SyncEngine>;
  /** Notification settings, this device's push subscription and background send; null outside a browser page. */
  readonly notifications: NotificationsController | null;
}

/**
 * Opens the signed-in user's replica and connects. Resolves once the local data is readable
 * (no network needed); replication starts when this tab becomes the leader.
 */
export async function createInbox(options: CreateInboxOptions): Promise<InboxHandle> {
  const db = await openInboxDatabase({
    name: options.databaseName ?? databaseNameFor(options.user.id),
    storage: options.storage,
    devMode: options.devMode,
    multiInstance: options.multiInstance,
    ignoreDuplicate: options.ignoreDuplicate,
    collections: options.collections,
  });
  const connection = connectSyncSocket({
    url: options.serverUrl,
    getToken: options.getToken,
    transports: options.transports,
    reconnectionDelayMs: options.reconnectionDelayMs,
    reconnectionDelayMaxMs: options.reconnectionDelayMaxMs,
    protocolVersion: options.protocolVersion,
  });
  return new InboxImpl(options, db, connection);
}

/** Acknowledged ids kept for the sent tick; older ones have long had the server's copy. */
const ACKNOWLEDGED_KEPT = 500;

class InboxImpl implements InboxHandle {
  readonly user: SessionUser;
  readonly connection$: Observable<ConnectionState>;
  readonly isLeader$: Observable<boolean>;
  private readonly leader = new BehaviorSubject<boolean>(false);
  private readonly engine = new BehaviorSubject<SyncEngine | null>(null);
  private readonly outbox: OutboxStore;
  private readonly unsent: UnsentMessages;
  private readonly history: HistoryStore;
  /** Per conversation, where its next older page from the server starts (null: none older). */
  private readonly olderPages = new Map<string, number | null>();
  private readonly queries: InboxQueries;
  /** Messages shown before the replica stored them: streamed to the leader, or being written here (arrivals.ts). */
  private readonly arrivals = new Arrivals();
  private readonly arrivalsSub: Subscription;
  private readonly commands: InboxCommandHandlers;
  private readonly files: { queue: FileQueue; api: FileApi; commands: FileCommands } | null;
  private readonly limitsSub: Subscription | null;
  private readonly searchIndex: MessageSearch;
  private readonly presence: PresenceClient;
  readonly notifications: NotificationsController | null;
  readonly blocks: Blocks;
  private readonly election: TabLeadership;
  private readonly electionSub: Subscription;
  private leads = false;
  private handover: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;

  constructor(
    options: CreateInboxOptions,
    readonly database: InboxDatabase,
    private readonly connection: SocketConnection,
  ) {
    this.user = options.user;
    this.outbox = new OutboxStore(database.outbox);
    this.history = new HistoryStore(database);
    // The server's own fallback, so a conversation it has not filled in yet reads the same as one it has.
    const fallbackName = (id: string) => (id === options.user.id ? options.user.name : fallbackParticipantName(id));
    const historyIncomplete$ = this.history.state$('messages').pipe(map((state) => state !== null && state.before !== null));
    this.unsent = new UnsentMessages(database, options.user.id);
    this.queries = new InboxQueries(
      database,
      options.user.id,
      this.outbox,
      this.unsent,
      fallbackName,
      historyIncomplete$,
      this.acknowledged$(),
      (conversationId) => this.arrivals.of$(conversationId),
    );
    this.arrivalsSub = this.followArrivals();
    this.isLeader$ = this.leader.pipe(distinctUntilChanged());
    this.notifications = createNotifications(options.notifications, {
      user: options.user,
      serverUrl: options.serverUrl,
      getToken: options.getToken,
      connection,
      databaseName: database.name,
      unsentIds$: this.unsent.ids$,
      isLeader$: this.isLeader$,
    });
    this.commands = new InboxCommandHandlers(
      database,
      options.user,
      this.outbox,
      this.unsent,
      this.notifications?.messageWrites,
      (doc, conversation, stored) => this.engine.value?.sendAhead(doc, conversation, stored),
      this.arrivals,
    );
    this.files = openFiles(options, database, this.commands);
    // Any tab may send, so every tab keeps the limits fresh; a failure keeps the known ones.
    this.limitsSub = this.files
      ? connection.connected$.subscribe(() => void this.files?.commands.refreshLimits().catch(() => undefined))
      : null;
    this.searchIndex = new MessageSearch(database, options.user.id);
    // Fetched again on every connect and whenever another tab or device changed the list.
    const blocksChanged$ = fromEventPattern<void>(
      (h) => connection.socket.on('blocks:changed', h),
      (h) => connection.socket.off('blocks:changed', h),
    );
    this.blocks = new Blocks({
      serverUrl: options.serverUrl,
      getToken: options.getToken,
      connected$: merge(connection.connected$, blocksChanged$),
    });
    const presence = options.presence === undefined ? createPresenceClient : options.presence;
    this.presence = presence ? presence(connection.socket) : noPresence;
    const initialSync$: Observable<InitialSyncProgress | null> = this.engine.pipe(switchMap((e) => (e ? e.initialSync$() : of(null))));
    this.connection$ = connectionState$(connection.status$, this.queries.unsentMessages$, initialSync$);

    const tuning = boundedTuning({ ...DEFAULT_TUNING, ...options.tuning });
    const start = () =>
      new SyncEngine({
        db: database,
        socket: connection.socket,
        userId: options.user.id,
        serverUrl: options.serverUrl,
        outbox: this.outbox,
        history: this.history,
        tuning,
        files: this.files && {
          queue: this.files.queue,
          api: this.files.api,
          online$: connection.status$.pipe(map((s) => s.kind === 'connected')),
          tuning: { ...DEFAULT_UPLOAD_TUNING, ...options.files?.upload },
        },
      });
    const lifecycle = options.lifecycle === undefined ? (typeof document === 'undefined' ? null : document) : options.lifecycle;
    this.election = database.multiInstance ? new TabElection(leaderChannelName(database.name), lifecycle) : soleLeadership;
    this.electionSub = this.election.isLeader$.subscribe((leads) => this.onLeadership(leads, start));
  }

  /**
   * Starts the replication when this tab is elected and stops it when it leaves the election
   * (closed or frozen). A start waits for the previous stop: two replications of one replica
   * must never run at once in a tab.
   */
  private onLeadership(leads: boolean, start: () => SyncEngine): void {
    this.leads = leads;
    if (leads) {
      this.handover = this.handover.then(() => {
        if (!this.leads || this.closing || this.engine.value) return;
        this.engine.next(start());
        this.leader.next(true);
      });
      return;
    }
    this.leader.next(false);
    const engine = this.engine.value;
    if (!engine) return;
    this.engine.next(null);
    // Not queued behind anything: this may run in a `freeze` handler, and the replication has to
    // be cancelled (RxDB's flag is set in the microtasks that follow) before the page freezes. A
    // frozen page still receives BroadcastChannel messages (Chromium 156), so a replication left
    // running would react to the new leader's writes with IndexedDB transactions that cannot
    // finish while the page is frozen, and would block that leader.
    const stopped = engine.stop().catch(() => undefined);
    this.handover = this.handover.then(() => stopped);
  }

  /**
   * The newest ids this tab's replication saw the server acknowledge: their bubbles show sent
   * when the answer arrives, not a stream round later when the server's copy is stored (the
   * replica's stream waits while RxDB finishes the push).
   */
  private acknowledged$(): Observable<ReadonlySet<string>> {
    return this.engine.pipe(
      switchMap((e) => (e ? e.messages.accepted$ : EMPTY)),
      scan((seen: ReadonlySet<string>, ids: string[]) => {
        const next = new Set(seen);
        for (const id of ids) next.add(id);
        for (const id of next) {
          if (next.size <= ACKNOWLEDGED_KEPT) break;
          next.delete(id);
        }
        return next;
      }, new Set<string>()),
      startWith(new Set<string>()),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
  }

  /**
   * Streamed arrivals come from this tab's replication while it runs (or from the leader tab's,
   * over the channel), the user's own from the commands; all go once the replica (written by any
   * tab) stores them, and a stopped replication drops them.
   */
  private followArrivals(): Subscription {
    // The leader passes what its stream brings to the other tabs of this replica, which show it
    // as early (a native channel: same origin, and the database name is the user's).
    const tabs =
      this.database.multiInstance && typeof BroadcastChannel === 'function' ? new BroadcastChannel(`${this.database.name}-arrivals`) : null;
    const sub = this.engine
      .pipe(
        tap(() => this.arrivals.clear()),
        switchMap((e) => (e ? e.messages.arrived$ : EMPTY)),
      )
      .subscribe((docs) => {
        this.arrivals.add(docs);
        tabs?.postMessage(docs);
      });
    if (tabs) {
      tabs.onmessage = (e: MessageEvent) => {
        if (Array.isArray(e.data)) this.arrivals.add(e.data.filter(isMessageShaped));
      };
      // Node (tests) would otherwise keep the process alive for the channel.
      (tabs as { unref?: () => void }).unref?.();
      sub.add(() => tabs.close());
    }
    // A removal (a discarded draft) takes its arrival at once: the window no longer holds the id,
    // and an arrival it does not hold would be shown again.
    sub.add(
      this.database.messages.$.subscribe((ev) =>
        ev.operation === 'DELETE' ? this.arrivals.withdraw(ev.documentId) : this.arrivals.stored([ev.documentId]),
      ),
    );
    sub.add(() => this.arrivals.clear());
    return sub;
  }

  get socket(): SyncSocket {
    return this.connection.socket;
  }

  sync(): SyncEngine | null {
    return this.engine.value;
  }

  whenLeader(): Promise<SyncEngine> {
    return new Promise((resolve) => {
      this.engine.pipe(first((e): e is SyncEngine => e !== null)).subscribe({ next: resolve, error: () => undefined });
    });
  }

  reconnect(): void {
    this.connection.reconnect();
  }

  conversations$(): Observable<ConversationView[]> {
    return this.queries.conversationViews$;
  }

  messages$(conversationId: string, limit: number): Observable<MessageView[]> {
    return this.queries.messages$(conversationId, limit);
  }

  totalUnread$(): Observable<number> {
    return this.queries.totalUnread$;
  }

  search$(query: string, limit = 20): Observable<SearchHit[]> {
    // Every change of the replica reaches the index; a burst of them (a sync, a bulk read)
    // reruns the query once when it settles rather than once per document.
    return this.searchIndex.changes$.pipe(
      debounceTime(SEARCH_RERUN_DEBOUNCE_MS),
      startWith(undefined),
      switchMap(() => this.search(query, limit)),
    );
  }

  async search(query: string, limit = 20): Promise<SearchHit[]> {
    const matches = await this.searchIndex.search(query, limit);
    if (matches.length === 0) return [];
    const [docs, failures] = await Promise.all([
      this.database.messages.findByIds(matches.map((m) => m.id)).exec(),
      firstValueFrom(this.queries.failures$),
    ]);
    return matches.flatMap((m) => {
      const doc = docs.get(m.id);
      if (!doc) return [];
      const message = toMessageView(doc.toJSON() as MessageView, this.user.id, failures.get(m.id));
      return [{ message, conversationId: m.conversation, score: m.score, highlights: highlightRuns(message.content, m.terms) }];
    });
  }

  history$(): Observable<HistoryProgress | null> {
    return this.history.progress$();
  }

  async loadOlderMessages(conversationId: string, limit: number): Promise<boolean> {
    const engine = this.engine.value;
    if (!engine || this.olderPages.get(conversationId) === null) return false;
    // Every step below reads or writes IndexedDB: the walk's pages wait meanwhile.
    const release = engine.walkGate.hold();
    try {
      const walk = await this.history.state('messages');
      if (!walk || walk.before === null) return false;
      let before = this.olderPages.get(conversationId);
      if (before === undefined) {
        // Below the oldest copy this device holds: pages go by server sequence.
        const local = await this.database.messages.find({ selector: { conversation: conversationId } }).exec();
        const lowest = local.reduce((min, m) => (m.seq > 0 && m.seq < min ? m.seq : min), Number.POSITIVE_INFINITY);
        before = Number.isFinite(lowest) ? lowest : null;
      }
      const next = await engine.pages.load(conversationId, before, limit);
      this.olderPages.set(conversationId, next);
      return next !== null;
    } finally {
      release();
    }
  }

  unsentWork$(): Observable<UnsentWork> {
    const files$ = this.files ? this.files.commands.queuedFiles$() : of({ pending: [], failed: [] });
    return combineLatest([this.queries.unsentMessageIds$, files$]).pipe(
      map(([messages, files]) => {
        // A message holding a refused file waits until the user removes the file: refused too.
        const refused = new Set([...messages.refused, ...files.failed.map((f) => f.messageId).filter((id) => messages.pending.has(id))]);
        const pending = [...messages.pending].filter((id) => !refused.has(id));
        const going = new Set(pending);
        return { messages: pending.length, files: files.pending.filter((f) => going.has(f.messageId)).length, refused: refused.size };
      }),
      distinctUntilChanged((a, b) => a.messages === b.messages && a.files === b.files && a.refused === b.refused),
    );
  }

  online$(userId: string): Observable<boolean> {
    return this.presence.online$(userId);
  }

  typingUsers$(conversationId: string): Observable<string[]> {
    return this.presence.typingUsers$(conversationId);
  }

  typing(conversationId: string, active: boolean): void {
    this.presence.setTyping(conversationId, active);
  }

  createConversation(participantId: string, jobId?: string | null, participantName?: string): Promise<string> {
    return this.commands.createConversation(participantId, jobId, participantName);
  }

  sendMessage(conversationId: string, content: string): Promise<MessageView> {
    return this.commands.sendMessage(conversationId, content);
  }

  editMessage(messageId: string, content: string): Promise<void> {
    return this.commands.editMessage(messageId, content);
  }

  deleteMessage(messageId: string): Promise<void> {
    return this.deleteMessages([messageId]);
  }

  async deleteMessages(messageIds: readonly string[]): Promise<void> {
    await this.commands.deleteMessages(messageIds);
    // A message deleted before its files went out takes them along.
    await this.files?.commands.forgetMessages(messageIds);
  }

  markRead(messageIds: readonly string[]): Promise<void> {
    return this.commands.markRead(messageIds);
  }

  markConversationRead(conversationId: string): Promise<void> {
    return this.commands.markConversationRead(conversationId);
  }

  retryMessage(messageId: string): Promise<void> {
    return this.commands.retryMessage(messageId);
  }

  async discardMessage(messageId: string): Promise<void> {
    await this.commands.discardMessage(messageId);
    await this.files?.commands.forgetMessages([messageId]);
  }

  sendMessageWithFiles(conversationId: string, content: string, files: readonly OutgoingFile[]): Promise<MessageView> {
    return this.fileCommands().sendMessageWithFiles(conversationId, content, files);
  }

  async fileLimits(): Promise<FileLimits> {
    return this.fileCommands().limits();
  }

  uploads$(messageId: string): Observable<FileUploadView[]> {
    return this.files ? this.files.commands.uploads$(messageId) : of([]);
  }

  cancelUpload(messageId: string, fileId: string): Promise<void> {
    return this.fileCommands().cancelFile(messageId, fileId);
  }

  async filePreview(messageId: string, attachment: Attachment): Promise<Blob | null> {
    return this.files ? this.files.commands.preview(messageId, attachment) : null;
  }

  fileLink(messageId: string, attachment: Attachment, disposition: 'attachment' | 'inline'): Promise<FileLink> {
    return this.fileCommands().fileLink(messageId, attachment, disposition);
  }

  private fileCommands(): FileCommands {
    if (!this.files) throw new InboxCommandError('INVALID_INPUT', 'files cannot be sent from this device (no IndexedDB)');
    return this.files.commands;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.searchIndex.close();
      this.electionSub.unsubscribe();
      this.arrivalsSub.unsubscribe();
      this.limitsSub?.unsubscribe();
      const engine = this.engine.value;
      this.engine.next(null);
      if (engine) await engine.stop();
      await this.handover;
      this.presence.close?.();
      this.notifications?.close();
      this.blocks.close();
      this.unsent.close();
      this.files?.queue.close();
      this.connection.close();
      this.leader.next(false);
      this.leader.complete();
      this.engine.complete();
      await this.database.close();
      // Only now may another tab take over, not while this one's collections are half closed.
      await this.election.close();
    })();
    return this.closing;
  }
}

/** Enough of a message for a window to place it (what another tab of this replica posted). */
function isMessageShaped(d: unknown): d is MessageDoc {
  const m = d as Partial<MessageDoc> | null;
  return (
    typeof m === 'object' && m !== null && typeof m.id === 'string' && typeof m.conversation === 'string' && typeof m.createdAt === 'string'
  );
}

/** The file queue and the commands over it, unless files are off or there is no IndexedDB. */
function openFiles(
  options: CreateInboxOptions,
  database: InboxDatabase,
  commands: InboxCommandHandlers,
): { queue: FileQueue; api: FileApi; commands: FileCommands } | null {
  if (options.files === null) return null;
  const deps = options.files?.indexedDB;
  if (!deps && typeof indexedDB === 'undefined') return null;
  const queue = new FileQueue(fileQueueNameFor(database.name), deps);
  const api = new FileApi({ serverUrl: options.serverUrl, getToken: options.getToken, fetch: options.files?.fetch });
  return {
    queue,
    api,
    commands: new FileCommands({ db: database, user: options.user, serverUrl: options.serverUrl, queue, api, commands }),
  };
}
