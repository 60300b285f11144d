import { type FocusEntry, NOTIFIED_TTL_MS, type NotificationState } from './state';

/** Past this many users with notified conversations, expired ones are swept before adding more. */
const SWEEP_AT = 10_000;

/**
 * State for a single instance. Focus needs no expiry: the process that holds the sockets holds
 * this map too, so a crash takes both away together.
 */
export class MemoryNotificationState implements NotificationState {
  readonly heartbeatMs = 0;
  private readonly focus = new Map<string, Map<string, string>>();
  private readonly notified = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  async setFocus(userId: string, socketId: string, conversationId: string | null): Promise<void> {
    let sockets = this.focus.get(userId);
    if (conversationId === null) {
      sockets?.delete(socketId);
      if (sockets?.size === 0) this.focus.delete(userId);
      return;
    }
    if (!sockets) {
      sockets = new Map();
      this.focus.set(userId, sockets);
    }
    sockets.set(socketId, conversationId);
  }

  async focusedConversations(userId: string): Promise<Set<string>> {
    return new Set(this.focus.get(userId)?.values() ?? []);
  }

  async refresh(_entries: readonly FocusEntry[]): Promise<void> {}

  async markNotified(userId: string, conversationIds: readonly string[]): Promise<void> {
    if (this.notified.size >= SWEEP_AT) this.sweep();
    let conversations = this.notified.get(userId);
    if (!conversations) {
      conversations = new Map();
      this.notified.set(userId, conversations);
    }
    const until = this.now() + NOTIFIED_TTL_MS;
    for (const id of conversationIds) conversations.set(id, until);
  }

  async takeNotified(userId: string, conversationId: string): Promise<boolean> {
    const conversations = this.notified.get(userId);
    const until = conversations?.get(conversationId);
    if (until === undefined) return false;
    conversations!.delete(conversationId);
    if (conversations!.size === 0) this.notified.delete(userId);
    return until > this.now();
  }

  private sweep(): void {
    const now = this.now();
    for (const [userId, conversations] of this.notified) {
      for (const [id, until] of conversations) if (until <= now) conversations.delete(id);
      if (conversations.size === 0) this.notified.delete(userId);
    }
  }

  async close(): Promise<void> {}
}
