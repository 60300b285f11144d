/** One user's block of another. */
export interface BlockRecord {
  /** The blocked user. */
  userId: string;
  /** ISO-8601. */
  blockedAt: string;
}

/**
 * Blocks between users, kept beside the messages (SQLite: same file, own table; MongoDB: own
 * collection). A block is one row per (blocker, blocked); blocking twice keeps the first time.
 */
export interface BlockRecordStore {
  block(blocker: string, blocked: string, at: string): Promise<void>;
  unblock(blocker: string, blocked: string): Promise<void>;
  /** Whom the user blocked, most recent first. */
  listBlocked(blocker: string): Promise<BlockRecord[]>;
  /** Everyone the user blocked or was blocked by: the people nothing flows to or from (may repeat one). */
  separatedFrom(userId: string): Promise<string[]>;
}
