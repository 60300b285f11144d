/** One socket's focus, as the heartbeat re-announces it. */
export interface FocusEntry {
  userId: string;
  socketId: string;
  conversationId: string;
}

/**
 * The short-lived facts every instance must see to decide a notification: which conversation each
 * of a user's sockets has open and focused (wherever that socket is connected), and which
 * conversations were notified recently (so that reading one sends a `clear` only when there is
 * something to clear). The memory state serves one instance; the Redis state is shared.
 */
export interface NotificationState {
  /**
   * How often the holder of sockets must call `refresh` (0: never). A shared state forgets the
   * focus of an instance that stops refreshing (it crashed), so its users get pushes again.
   */
  readonly heartbeatMs: number;
  /** Sets (or, with null, clears) what a socket has focused. */
  setFocus(userId: string, socketId: string, conversationId: string | null): Promise<void>;
  /** Conversations focused on any live socket of the user. */
  focusedConversations(userId: string): Promise<Set<string>>;
  /** Keeps this instance's focused sockets alive (see heartbeatMs). */
  refresh(entries: readonly FocusEntry[]): Promise<void>;
  /** Notes that these conversations of the user were just notified. */
  markNotified(userId: string, conversationIds: readonly string[]): Promise<void>;
  /** Forgets a notified conversation; true when it was notified recently (a clear is due). */
  takeNotified(userId: string, conversationId: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A notification lives at most this long at the push service (the push TTL), so "recently" means this. */
export const NOTIFIED_TTL_MS = 24 * 60 * 60 * 1000;
