import type { RxStorage } from 'rxdb';
import { BehaviorSubject, firstValueFrom, type Observable, of, switchMap } from 'rxjs';
import type { InboxDatabase } from '../db/collections';
import { databaseNameFor, openInboxDatabase } from '../db/database';
import type { DevModeKit } from '../db/dev-mode';
import { OutboxStore } from '../db/outbox-store';
import type { ConnectionState, ConversationView, Inbox, MessageView, SearchHit, SessionUser } from '../inbox-api';
import type { InitialSyncProgress, SyncTuning } from '../sync/collection-sync';
import { createPresenceClient } from '../sync/presence-client';
import { connectSyncSocket, type SocketConnection, type SyncSocket } from '../sync/socket';
import { DEFAULT_TUNING, SyncEngine } from '../sync/sync-engine';
import { InboxCommandHandlers } from './commands';
import { connectionState$ } from './connection-state';
import { noPresence, type PresenceClient, type PresenceFactory } from './presence';
import { InboxQueries } from './queries';
import { MessageSearch } from './search/message-search';
import { highlightRuns } from './search/terms';
import { toMessageView } from './views';

export interface CreateInboxOptions {
  user: SessionUser;
  /** Origin of the sync server (Socket.io endpoint), e.g. http://localhost:10000. */
  serverUrl: string;
  /** The current JWT; asked on every (re)connect, so return a refreshed one when you have it. */
  getToken: () => string | null | Promise<string | null>;
  /** Default: Dexie on the page's IndexedDB. Tests: getRxStorageDexie({ indexedDB, IDBKeyRange }) from fake-indexeddb. */
  storage?: RxStorage<any, any>;
  /** Development and tests only: `import.meta.env.DEV ? (await import('./db/dev-mode')).devModeKit : undefined`. */
  devMode?: DevModeKit;
  /** Default databaseNameFor(user.id). */
  databaseName?: string;
  /** Default true (tabs share the replica; one of them replicates). */
  multiInstance?: boolean;
  /** Tests only: open the same database twice in one process, as two tabs (needs devMode). */
  ignoreDuplicate?: boolean;
  transports?: ('websocket' | 'polling')[];
  reconnectionDelayMs?: number;
  reconnectionDelayMaxMs?: number;
  tuning?: Partial<SyncTuning>;
  /** Presence and typing over this tab's socket; default createPresenceClient, null for none. */
  presence?: PresenceFactory | null;
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
  /** Resolves when this tab leads (never in a tab that does not). */
  whenLeader(): Promise<SyncEngine>;
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
  });
  const connection = connectSyncSocket({
    url: options.serverUrl,
    getToken: options.getToken,
    transports: options.transports,
    reconnectionDelayMs: options.reconnectionDelayMs,
    reconnectionDelayMaxMs: options.reconnectionDelayMaxMs,
  });
  return new InboxImpl(options, db, connection);
}

class InboxImpl implements InboxHandle {
  readonly user: SessionUser;
  readonly connection$: Observable<ConnectionState>;
  readonly isLeader$: Observable<boolean>;
  private readonly leader = new BehaviorSubject<boolean>(false);
  private readonly engine = new BehaviorSubject<SyncEngine | null>(null);
  private readonly outbox: OutboxStore;
  private readonly queries: InboxQueries;
  private readonly commands: InboxCommandHandlers;
  private readonly searchIndex: MessageSearch;
  private readonly presence: PresenceClient;
  private readonly leadership: Promise<SyncEngine>;
  private closing: Promise<void> | null = null;

  constructor(
    options: CreateInboxOptions,
    readonly database: InboxDatabase,
    private readonly connection: SocketConnection,
  ) {
    this.user = options.user;
    this.outbox = new OutboxStore(database.outbox);
    const fallbackName = (id: string) => (id === options.user.id ? options.user.name : 'Unknown user');
    this.queries = new InboxQueries(database, options.user.id, this.outbox, fallbackName);
    this.commands = new InboxCommandHandlers(database, options.user, this.outbox);
    this.searchIndex = new MessageSearch(database, options.user.id);
    const presence = options.presence === undefined ? createPresenceClient : options.presence;
    this.presence = presence ? presence(connection.socket) : noPresence;
    this.isLeader$ = this.leader.asObservable();
    const initialSync$: Observable<InitialSyncProgress | null> = this.engine.pipe(switchMap((e) => (e ? e.initialSync$() : of(null))));
    this.connection$ = connectionState$(connection.status$, this.outbox.pendingCount$(), initialSync$);

    const tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.leadership = database.waitForLeadership().then(() => {
      if (this.closing) return new Promise<never>(() => undefined);
      const engine = new SyncEngine({
        db: database,
        socket: connection.socket,
        userId: options.user.id,
        serverUrl: options.serverUrl,
        outbox: this.outbox,
        tuning,
      });
      this.engine.next(engine);
      this.leader.next(true);
      return engine;
    });
  }

  get socket(): SyncSocket {
    return this.connection.socket;
  }

  sync(): SyncEngine | null {
    return this.engine.value;
  }

  whenLeader(): Promise<SyncEngine> {
    return this.leadership;
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
    return this.commands.deleteMessage(messageId);
  }

  deleteMessages(messageIds: readonly string[]): Promise<void> {
    return this.commands.deleteMessages(messageIds);
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

  discardMessage(messageId: string): Promise<void> {
    return this.commands.discardMessage(messageId);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.searchIndex.close();
      const engine = this.engine.value;
      if (engine) await engine.stop();
      this.presence.close?.();
      this.connection.close();
      this.leader.next(false);
      this.leader.complete();
      this.engine.complete();
      // Closing the database also hands leadership to another tab.
      await this.database.close();
    })();
    return this.closing;
  }
}
