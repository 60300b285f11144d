import type { ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import type { BlockService } from '../../blocks/block-service';
import type { Logger } from '../../logger';
import type { SyncStore } from '../../store/port';
import type { ChangeBus } from '../../sync/change-bus';
import { attachHandlers, type SocketHandlers } from '../shared-handlers';
import type { SyncServer, SyncSocket } from '../types';
import { ConversationDirectory } from './conversation-directory';
import { MemoryPresenceStore } from './memory-presence-store';
import { GRACE_TIMER_PREFIX, PresenceService } from './presence-service';
import type { PresenceStore } from './presence-store';
import { RedisPresenceStore } from './redis-presence-store';
import { Tasks } from './tasks';
import { TypingRelay } from './typing-relay';

export { MemoryPresenceStore } from './memory-presence-store';
export type { PresenceStore, SettleResult } from './presence-store';
export { RedisPresenceStore } from './redis-presence-store';

export interface PresenceOptions {
  /** Defaults to a Redis store when a Redis URL is given, else the in-memory one. */
  store?: PresenceStore;
  /** How long after a user's last socket went they are announced offline (a reload fits inside). */
  graceMs?: number;
  /** Typing stops by itself this long after the last `typing:start`. */
  typingTtlMs?: number;
  /** A socket's repeated `typing:start` in one conversation is relayed at most this often. */
  typingThrottleMs?: number;
}

export const PRESENCE_DEFAULTS = { graceMs: 3_000, typingTtlMs: 5_000, typingThrottleMs: 1_000 } as const;

export interface Presence {
  readonly store: PresenceStore;
  /**
   * Resolves once every consequence of past events is done: store writes, announcements and grace
   * periods (typing expiry timers are not waited for).
   */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function createPresenceStore(redisUrl: string | undefined): Promise<PresenceStore> {
  return redisUrl ? RedisPresenceStore.connect(redisUrl) : new MemoryPresenceStore();
}

/** Presence and typing on every socket of `io`. Call before the server accepts connections. */
export function startPresence(
  io: SyncServer,
  deps: { presenceStore: PresenceStore; store: SyncStore; bus: ChangeBus; log: Logger; blocks?: BlockService },
  options: PresenceOptions = {},
): Presence {
  const { presenceStore, log } = deps;
  const tasks = new Tasks(log);
  const directory = new ConversationDirectory(deps.store, deps.blocks ?? null);
  const presence = new PresenceService(io, presenceStore, directory, tasks, log, options.graceMs ?? PRESENCE_DEFAULTS.graceMs);
  const typing = new TypingRelay(io, directory, tasks, log, {
    ttlMs: options.typingTtlMs ?? PRESENCE_DEFAULTS.typingTtlMs,
    throttleMs: options.typingThrottleMs ?? PRESENCE_DEFAULTS.typingThrottleMs,
  });

  const handlers: SocketHandlers = {
    ...typing.handlers,
    disconnect(this: SyncSocket) {
      typing.disconnected(this);
      presence.disconnected(this);
      directory.release(this.data.user.id);
    },
  };
  io.on('connection', (socket) => {
    // An earlier connection handler may already have cut it (expired token): its disconnect
    // event has fired, so counting it in now would keep it online forever.
    if (socket.disconnected) return;
    directory.retain(socket.data.user.id);
    presence.connected(socket);
    attachHandlers(socket, handlers);
  });

  const unsubscribe = deps.bus.subscribe((event) => {
    for (const feed of event.feeds) {
      if (feed.collection === 'messages') {
        const messages = feed.docs as MessageDoc[];
        typing.messagesCommitted(messages);
        // A reply can make a conversation consented: both sides then hear each other's presence.
        if (directory.mayLearnWriters(feed.userId, messages)) {
          tasks.run('learn writers', async () => presence.newContacts(feed.userId, await directory.messagesSeen(feed.userId, messages)));
        }
      } else {
        for (const conversation of feed.docs as ConversationDoc[]) {
          if (directory.knows(feed.userId, conversation.id)) continue;
          tasks.run('learn conversation', async () => presence.newContacts(feed.userId, await directory.learn(feed.userId, conversation)));
        }
      }
    }
  });
  presence.start();

  return {
    store: presenceStore,
    idle: () => tasks.idle((key) => key.startsWith(GRACE_TIMER_PREFIX)),
    async close() {
      unsubscribe();
      presence.stop();
      typing.close();
      await tasks.close();
      await presenceStore.close();
    },
  };
}
