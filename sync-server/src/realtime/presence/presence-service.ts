import type { Logger } from '../../logger';
import type { SyncServer, SyncSocket } from '../types';
import { userRoom } from '../types';
import type { ConversationDirectory } from './conversation-directory';
import type { PresenceStore } from './presence-store';
import type { Tasks } from './tasks';

/**
 * Online/offline for the sockets of this instance. A user's first socket anywhere announces
 * `user:online` to their contacts; the last one going starts a grace period, after which
 * `user:offline` is announced once (by this instance's timer or, if it died, another instance's
 * sweep). Announcements go to the contacts' user rooms, so the cross-instance adapter carries them.
 */
export class PresenceService {
  /** This instance's connected sockets by user: what the heartbeat keeps alive. */
  private readonly local = new Map<string, Set<SyncSocket>>();
  private heartbeat: NodeJS.Timeout | null = null;
  private beating = false;

  constructor(
    private readonly io: SyncServer,
    private readonly store: PresenceStore,
    private readonly directory: ConversationDirectory,
    private readonly tasks: Tasks,
    private readonly log: Logger,
    private readonly graceMs: number,
  ) {}

  start(): void {
    this.heartbeat = setInterval(() => this.beat(), this.store.heartbeatMs);
    this.heartbeat.unref();
  }

  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  connected(socket: SyncSocket): void {
    const userId = socket.data.user.id;
    let sockets = this.local.get(userId);
    if (!sockets) {
      sockets = new Set();
      this.local.set(userId, sockets);
    }
    sockets.add(socket);
    this.tasks.cancel(graceKey(userId));
    this.tasks.serial(userKey(userId), 'presence connect', async () => {
      const becameOnline = await this.store.addSocket(userId, socket.id);
      const contacts = await this.directory.contactsOf(userId);
      if (becameOnline) this.announceOnline(contacts, userId);
      const online = await this.store.onlineAmong(contacts);
      socket.emit('presence:state', { online });
    });
  }

  disconnected(socket: SyncSocket): void {
    const userId = socket.data.user.id;
    const sockets = this.local.get(userId);
    sockets?.delete(socket);
    if (sockets?.size === 0) this.local.delete(userId);
    this.tasks.serial(userKey(userId), 'presence disconnect', async () => {
      const live = await this.store.removeSocket(userId, socket.id, this.graceMs);
      // A socket of the same user that connected here meanwhile is counted in by the next op.
      if (live === 0 && !this.local.has(userId)) this.scheduleSettle(userId, this.graceMs);
    });
  }

  /** Tells a user's sockets on this instance about contacts they just gained (a new conversation). */
  newContacts(userId: string, contacts: readonly string[]): void {
    if (contacts.length === 0 || !this.local.has(userId)) return;
    this.tasks.run('presence new contacts', async () => {
      const online = await this.store.onlineAmong(contacts);
      for (const socket of this.local.get(userId) ?? []) {
        for (const contact of online) socket.emit('user:online', { userId: contact });
      }
    });
  }

  private scheduleSettle(userId: string, ms: number): void {
    this.tasks.schedule(graceKey(userId), ms, () => {
      this.tasks.serial(userKey(userId), 'presence settle', async () => {
        const result = await this.store.settle(userId);
        if (result.kind === 'wait') this.scheduleSettle(userId, result.ms);
        if (result.kind === 'offline') await this.announceOffline(userId, result.lastSeen);
      });
    });
  }

  private async announceOffline(userId: string, lastSeen: string): Promise<void> {
    this.log.debug({ userId, lastSeen }, 'user offline');
    const contacts = await this.directory.contactsOf(userId);
    if (contacts.length > 0) this.io.to(contacts.map(userRoom)).emit('user:offline', { userId, lastSeen });
  }

  private announceOnline(contacts: readonly string[], userId: string): void {
    // io.to([]) would broadcast to everyone: a user with no contacts tells nobody.
    if (contacts.length > 0) this.io.to(contacts.map(userRoom)).emit('user:online', { userId });
  }

  private beat(): void {
    if (this.beating) return;
    this.beating = true;
    const snapshot = new Map([...this.local].map(([userId, sockets]) => [userId, [...sockets].map((s) => s.id)]));
    this.tasks.run('presence heartbeat', async () => {
      try {
        const [reannounced, settled] = await Promise.all([this.store.refresh(snapshot), this.store.sweep()]);
        for (const userId of reannounced) this.announceOnline(await this.directory.contactsOf(userId), userId);
        for (const { userId, lastSeen } of settled) await this.announceOffline(userId, lastSeen);
      } finally {
        this.beating = false;
      }
    });
  }
}

const userKey = (userId: string) => `user:${userId}`;
export const GRACE_TIMER_PREFIX = 'grace:';
const graceKey = (userId: string) => `${GRACE_TIMER_PREFIX}${userId}`;
