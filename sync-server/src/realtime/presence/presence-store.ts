/**
 * Where presence lives: how many sockets each user has connected (on every instance), whether the
 * user has been announced online, and when they were last seen. The in-memory store serves one
 * instance; the Redis store is shared by all instances.
 *
 * "Announced online" is kept apart from "has sockets" on purpose: between the last socket going
 * and the end of the grace period the user has no socket but is still online for everyone, so a
 * reload (socket gone, socket back) announces nothing, and the offline announcement is made once
 * by whichever caller settles it first.
 */
export interface PresenceStore {
  /**
   * How often the service must call `refresh` with its sockets. A store whose entries expire
   * (Redis) forgets the sockets of an instance that stops refreshing, i.e. one that crashed.
   */
  readonly heartbeatMs: number;

  /** Counts a socket in. True when the user was not announced online and now is. */
  addSocket(userId: string, socketId: string): Promise<boolean>;

  /**
   * Counts a socket out and returns how many live sockets the user still has anywhere. At 0 the
   * user is last seen now and may be settled offline after `graceMs`.
   */
  removeSocket(userId: string, socketId: string, graceMs: number): Promise<number>;

  /**
   * Announces the user offline if they have no live socket, are announced online and their grace
   * has passed. Exactly one caller (across instances) gets `offline` for one going-away.
   */
  settle(userId: string): Promise<SettleResult>;

  /** The users among these that are announced online (including those inside their grace). */
  onlineAmong(userIds: readonly string[]): Promise<string[]>;

  /** When the user was last seen, or null while online or when never seen (or forgotten). */
  lastSeen(userId: string): Promise<string | null>;

  /**
   * Keeps this instance's sockets alive. Re-adds any the store lost (e.g. Redis restarted) and
   * returns the users that this made announced online again.
   */
  refresh(sockets: ReadonlyMap<string, readonly string[]>): Promise<string[]>;

  /**
   * Settles every user whose sockets have all expired (their instance died) or whose grace passed
   * without a timer settling them. Each going-away is returned to one caller only.
   */
  sweep(): Promise<{ userId: string; lastSeen: string }[]>;

  close(): Promise<void>;
}

export type SettleResult =
  /** Announced offline now; the caller tells the contacts. */
  | { kind: 'offline'; lastSeen: string }
  /** The grace has not passed yet (e.g. another instance saw a later disconnect); ask again then. */
  | { kind: 'wait'; ms: number }
  /** Nothing to do: the user has a live socket, or someone else already settled them. */
  | { kind: 'none' };
