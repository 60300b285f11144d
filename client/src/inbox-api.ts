import type { Attachment, ConversationDoc, FileLimits, FileLink, MessageDoc } from '@fetchwork/shared-schema';
import type { Observable } from 'rxjs';
import type { HistoryProgress } from './db/history-store';
import type { OutgoingFile } from './files/file-limits';

export type { HistoryProgress, OutgoingFile };

/**
 * The contract between the client data layer (db/, sync/, the Inbox implementation) and the
 * UI (hooks/, ui/). Components never call the network: they read these observables through
 * hooks and call these commands, all of which act on the local replica first.
 */

/**
 * What this tab's connection banner shows. The status is this tab's own socket; the counts are
 * the browser's (shared replica and outbox), so every tab shows the same number.
 *
 * `pendingWrites` is the number of the signed-in user's messages with a write the server has not
 * confirmed: a new message, an edit or a delete, counted once per message however often it was
 * changed. It is what "N messages will be sent" promises. Receipts (delivered, read) and new
 * conversations also wait in the outbox and are sent the same way, but are not counted: they are
 * not something the user wrote, and a device that received many messages while offline would
 * otherwise announce hundreds of unsent changes.
 */
export type ConnectionState =
  /**
   * Not connected and not trying right now: the browser reports offline (it stays so until the
   * browser is online again, whatever socket.io retries meanwhile), or the last attempt failed
   * and the next one waits for its backoff.
   */
  | { status: 'offline'; pendingWrites: number }
  /**
   * An attempt to (re)connect is under way, and the browser does not report offline; `attempt`
   * is socket.io's reconnect attempt (0 for the first connect and for an immediate one).
   */
  | { status: 'connecting'; attempt: number; pendingWrites: number }
  /**
   * Connected, with something still to exchange: `pendingWrites` > 0, or the very first sync of
   * this replica is downloading (`initialSync`, known in the leader tab only).
   */
  | { status: 'syncing'; pendingWrites: number; initialSync: { received: number; done: boolean } | null }
  /** Connected and none of the user's messages left to send (receipts may still be on their way). */
  | { status: 'online'; pendingWrites: 0 }
  /**
   * The socket stopped and will not retry by itself: `unauthorized` (the handshake was refused;
   * sign in again, local data is kept, then `reconnect()`), `upgrade-required` (the server no
   * longer serves this version of the app: reload into the new one; unsent writes are kept in the
   * replica and sent by it) or `closed` (the inbox was closed).
   */
  | { status: 'error'; reason: 'unauthorized' | 'upgrade-required' | (string & {}); pendingWrites: number };

/** Derived per message: pending → sent → delivered → read, or failed (permanently refused). */
export type MessageStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

export interface MessageView extends MessageDoc {
  status: MessageStatus;
  /** Why the server refused it (only when status is 'failed'). */
  failure: { code: string; message: string } | null;
  mine: boolean;
  /**
   * Shown before the replica stored it (streamed, or being written by this tab; a few
   * milliseconds, inbox/arrivals.ts): nothing writes it (read receipts, edits) until this is gone.
   */
  arriving?: true;
}

export interface ConversationView extends ConversationDoc {
  /** The participant who is not the signed-in user. */
  otherUserId: string;
  otherUserName: string;
  /** Unread messages to the signed-in user, counted on the local replica (correct offline). */
  unread: number;
  lastMessageView: MessageView | null;
  /** Server time once known, else the local one: the list sorts by this, newest first. */
  sortTime: string;
}

export interface SearchHit {
  message: MessageView;
  conversationId: string;
  score: number;
  /** Content split into plain and highlighted runs, for rendering without innerHTML. */
  highlights: { text: string; match: boolean }[];
}

export interface SessionUser {
  id: string;
  name: string;
  email?: string;
}

/**
 * One file of an unsent message, as the UI shows it. `queued` and `uploading` go on by
 * themselves (in the leader tab, once online); `failed` is the server's refusal (`error`), and
 * only the user can end it: remove the file or discard the message. `done` files wait for the
 * others of their message; the message then carries them and the entries disappear.
 */
export interface FileUploadView {
  fileId: string;
  messageId: string;
  filename: string;
  type: string;
  size: number;
  state: 'queued' | 'uploading' | 'done' | 'failed' | 'cancelled';
  bytesSent: number;
  error: { code: string; message: string } | null;
}

/** Files in messages: sent local first (bytes queued on the device), uploaded resumably by the leader tab. */
export interface InboxFiles {
  /**
   * Checks the files against the limits (throws a FileCheckError naming the file refused, before
   * anything is stored), queues them and writes the message at once, pending; the caption may
   * be empty. The message reaches the server only with all of its files uploaded.
   */
  sendMessageWithFiles(conversationId: string, content: string, files: readonly OutgoingFile[]): Promise<MessageView>;
  /** The server's limits as last fetched (conservative defaults before the first fetch). */
  fileLimits(): Promise<FileLimits>;
  /** The queued files of one unsent message with their progress; empty once it carries them all. */
  uploads$(messageId: string): Observable<FileUploadView[]>;
  /** Removes a file from an unsent message (stops and deletes its upload); a message left empty is discarded. */
  cancelUpload(messageId: string, fileId: string): Promise<void>;
  /** An image's or PDF's preview (own queued bytes, or the server's thumbnail, cached for offline); null if none. */
  filePreview(messageId: string, attachment: Attachment): Promise<Blob | null>;
  /** A signed link that opens (`inline`, images) or downloads (`attachment`) the file for a few minutes. */
  fileLink(messageId: string, attachment: Attachment, disposition: 'attachment' | 'inline'): Promise<FileLink>;
}

export interface InboxCommands {
  /** Creates (or finds) the conversation locally with its derived id; returns the id. */
  createConversation(participantId: string, jobId?: string | null): Promise<string>;
  sendMessage(conversationId: string, content: string): Promise<MessageView>;
  editMessage(messageId: string, content: string): Promise<void>;
  deleteMessage(messageId: string): Promise<void>;
  markRead(messageIds: readonly string[]): Promise<void>;
  markConversationRead(conversationId: string): Promise<void>;
  deleteMessages(messageIds: readonly string[]): Promise<void>;
  /** A failed write: send it again, or drop the local copy. */
  retryMessage(messageId: string): Promise<void>;
  discardMessage(messageId: string): Promise<void>;
  typing(conversationId: string, active: boolean): void;
}

/**
 * Whom the signed-in user blocked (no messages, new conversations, presence or typing pass
 * between the two while either blocked the other). Kept in memory, fetched on every connect;
 * blocking and unblocking need the server and reject (BlockError, code NETWORK) without it.
 */
export interface InboxBlocks {
  /** The blocked user ids; null until the list was fetched once (offline start: unknown). */
  readonly blocked$: Observable<ReadonlySet<string> | null>;
  block(userId: string): Promise<void>;
  unblock(userId: string): Promise<void>;
}

/** The user's writes this device holds that the server does not have yet. */
export interface UnsentWork {
  /**
   * Messages still on their way: new ones (a file message included) and edits and deletions the
   * server has not confirmed; they go out when this browser is online (`pendingWrites`).
   */
  messages: number;
  /** Files of those messages still to upload (or uploaded, waiting for their message to go). */
  files: number;
  /** Messages that will not go as they are: refused by the server, or holding a refused file. */
  refused: number;
}

export interface Inbox extends InboxCommands, InboxFiles {
  readonly user: SessionUser;
  readonly connection$: Observable<ConnectionState>;
  conversations$(): Observable<ConversationView[]>;
  /** The newest `limit` messages of a conversation, returned oldest first for rendering. */
  messages$(conversationId: string, limit: number): Observable<MessageView[]>;
  totalUnread$(): Observable<number>;
  search(query: string, limit?: number): Promise<SearchHit[]>;
  /** The same search, answered again whenever the replica changes (debounced), for results on screen. */
  search$(query: string, limit?: number): Observable<SearchHit[]>;
  /** Presence and typing (filled by the presence work; empty until then). */
  online$(userId: string): Observable<boolean>;
  typingUsers$(conversationId: string): Observable<string[]>;
  /** True in the one tab that replicates for this browser. */
  readonly isLeader$: Observable<boolean>;
  /**
   * The history still to load onto this device (recent-first sync: the newest conversations and
   * messages come first, the rest behind, newest first); null once all of it is here.
   */
  history$(): Observable<HistoryProgress | null>;
  /**
   * Asks the server for messages of a conversation older than what this device holds, while
   * the history walk has not brought them yet, and stores them. Resolves false when the server
   * has none older, or this tab cannot ask (the leader tab asks; the others wait for its walk).
   */
  loadOlderMessages(conversationId: string, limit: number): Promise<boolean>;
  /** What signing out now would lose from this device, kept current (the same in every tab). */
  unsentWork$(): Observable<UnsentWork>;
  /** Blocks; optional so that inboxes without a server (tests' stand-ins) need not provide them. */
  readonly blocks?: InboxBlocks | null;
  close(): Promise<void>;
}
