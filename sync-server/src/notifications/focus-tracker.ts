import type { Logger } from '../logger';
import type { FocusEntry, NotificationState } from './state';

/**
 * This instance's sockets and the conversation each has open, visible and focused. The shared
 * state is told of every change; with an expiring (Redis) state a heartbeat re-announces them, so
 * the focus of an instance that died stops silencing notifications once it expires.
 */
export class FocusTracker {
  private readonly local = new Map<string, FocusEntry>();
  private readonly heartbeat: NodeJS.Timeout | null;

  constructor(
    private readonly state: NotificationState,
    private readonly log: Logger,
  ) {
    this.heartbeat = state.heartbeatMs > 0 ? setInterval(() => this.beat(), state.heartbeatMs) : null;
    this.heartbeat?.unref();
  }

  set(userId: string, socketId: string, conversationId: string | null): Promise<void> {
    if (conversationId === null) this.local.delete(socketId);
    else this.local.set(socketId, { userId, socketId, conversationId });
    return this.state.setFocus(userId, socketId, conversationId);
  }

  /** The socket went: whatever it had focused no longer holds notifications back. */
  disconnected(userId: string, socketId: string): void {
    if (!this.local.delete(socketId)) return;
    this.state.setFocus(userId, socketId, null).catch((err) => this.log.warn({ err }, 'could not clear a socket focus'));
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
  }

  private beat(): void {
    if (this.local.size === 0) return;
    this.state.refresh([...this.local.values()]).catch((err) => this.log.warn({ err }, 'could not refresh socket focus'));
  }
}
