import type { PresenceStore, SettleResult } from './presence-store';

interface UserEntry {
  sockets: Set<string>;
  /** Set while announced online. Infinity while the user has a socket. */
  deadline: number | null;
}

/**
 * Presence for a single instance. Nothing expires here: the process that holds the sockets holds
 * this map too, so a crash takes both away together.
 */
export class MemoryPresenceStore implements PresenceStore {
  readonly heartbeatMs = 30_000;
  private readonly users = new Map<string, UserEntry>();
  private readonly seen = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  private entry(userId: string): UserEntry {
    let entry = this.users.get(userId);
    if (!entry) {
      entry = { sockets: new Set(), deadline: null };
      this.users.set(userId, entry);
    }
    return entry;
  }

  async addSocket(userId: string, socketId: string): Promise<boolean> {
    const entry = this.entry(userId);
    entry.sockets.add(socketId);
    const became = entry.deadline === null;
    entry.deadline = Number.POSITIVE_INFINITY;
    this.seen.delete(userId);
    return became;
  }

  async removeSocket(userId: string, socketId: string, graceMs: number): Promise<number> {
    const entry = this.users.get(userId);
    if (!entry) return 0;
    entry.sockets.delete(socketId);
    if (entry.sockets.size > 0) return entry.sockets.size;
    const now = this.now();
    this.seen.set(userId, now);
    if (entry.deadline !== null) entry.deadline = now + graceMs;
    return 0;
  }

  async settle(userId: string): Promise<SettleResult> {
    const entry = this.users.get(userId);
    if (!entry || entry.deadline === null || entry.sockets.size > 0) return { kind: 'none' };
    const wait = entry.deadline - this.now();
    if (wait > 0) return { kind: 'wait', ms: wait };
    this.users.delete(userId);
    return { kind: 'offline', lastSeen: new Date(this.seen.get(userId) ?? this.now()).toISOString() };
  }

  async onlineAmong(userIds: readonly string[]): Promise<string[]> {
    return userIds.filter((id) => this.users.get(id)?.deadline != null);
  }

  async lastSeen(userId: string): Promise<string | null> {
    const at = this.seen.get(userId);
    return at === undefined ? null : new Date(at).toISOString();
  }

  async refresh(sockets: ReadonlyMap<string, readonly string[]>): Promise<string[]> {
    const reannounced: string[] = [];
    for (const [userId, ids] of sockets) {
      if (ids.length === 0) continue;
      const entry = this.entry(userId);
      for (const id of ids) entry.sockets.add(id);
      if (entry.deadline === null) reannounced.push(userId);
      entry.deadline = Number.POSITIVE_INFINITY;
    }
    return reannounced;
  }

  async sweep(): Promise<{ userId: string; lastSeen: string }[]> {
    const settled: { userId: string; lastSeen: string }[] = [];
    for (const userId of [...this.users.keys()]) {
      const result = await this.settle(userId);
      if (result.kind === 'offline') settled.push({ userId, lastSeen: result.lastSeen });
    }
    return settled;
  }

  async close(): Promise<void> {}
}
