import type { ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import type { Observable } from 'rxjs';

/**
 * The contract between the client data layer (db/, sync/, the Inbox implementation) and the
 * UI (hooks/, ui/). Components never call the network: they read these observables through
 * hooks and call these commands, all of which act on the local replica first.
 */

export type ConnectionState =
  /** The browser is offline or the server cannot be reached; writes queue locally. */
  | { status: 'offline'; pendingWrites: number }
  /** (Re)connecting to the server, with the attempt number. */
  | { status: 'connecting'; attempt: number; pendingWrites: number }
  /** Connected and exchanging data: unsent writes and, on first sync, how far it got. */
  | { status: 'syncing'; pendingWrites: number; initialSync: { received: number; done: boolean } | null }
  /** Connected, nothing left to send or receive. */
  | { status: 'online'; pendingWrites: 0 }
  /** Replication stopped; `unauthorized` means the user must sign in again (local data is kept). */
  | { status: 'error'; reason: 'unauthorized' | (string & {}); pendingWrites: number };

/** Derived per message: pending → sent → delivered → read, or failed (permanently refused). */
export type MessageStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

export interface MessageView extends MessageDoc {
  status: MessageStatus;
  /** Why the server refused it (only when status is 'failed'). */
  failure: { code: string; message: string } | null;
  mine: boolean;
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

export interface Inbox extends InboxCommands {
  readonly user: SessionUser;
  readonly connection$: Observable<ConnectionState>;
  conversations$(): Observable<ConversationView[]>;
  /** The newest `limit` messages of a conversation, returned oldest first for rendering. */
  messages$(conversationId: string, limit: number): Observable<MessageView[]>;
  totalUnread$(): Observable<number>;
  search(query: string, limit?: number): Promise<SearchHit[]>;
  /** Presence and typing (filled by the presence work; empty until then). */
  online$(userId: string): Observable<boolean>;
  typingUsers$(conversationId: string): Observable<string[]>;
  /** True in the one tab that replicates for this browser. */
  readonly isLeader$: Observable<boolean>;
  close(): Promise<void>;
}
