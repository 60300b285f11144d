import { type Ack, errorBody, isFirstServerState, type MessageDoc, parseInput, typingPayloadSchema } from '@fetchwork/shared-schema';
import type { Logger } from '../../logger';
import { toErrorBody } from '../sync-handlers';
import type { SocketHandlers } from '../shared-handlers';
import type { SyncServer, SyncSocket } from '../types';
import { userRoom } from '../types';
import type { ConversationDirectory } from './conversation-directory';
import type { Tasks } from './tasks';

export interface TypingOptions {
  /** A typing user with no `typing:start` for this long is stopped (closed tab, lost connection). */
  ttlMs: number;
  /** A socket's repeated `typing:start` for one conversation is relayed at most this often. */
  throttleMs: number;
}

/** Typing events one socket may send per second; above that they are refused unprocessed. */
const EVENTS_PER_SECOND = 10;

/** One user typing in one conversation, from one or more sockets of this instance. */
interface Typing {
  userId: string;
  conversationId: string;
  /** The participants who are told, i.e. everyone but the typist. */
  others: readonly string[];
  /** socket id → when that socket's start was last relayed (the per-socket throttle). */
  sockets: Map<string, number>;
}

interface SocketState {
  windowStart: number;
  eventsInWindow: number;
  /** Keys of the typing entries this socket takes part in, for its disconnect. */
  typing: Set<string>;
}

/**
 * Relays typing between the participants of a conversation. The state lives on the instance
 * that holds the typist's socket; the relayed events go to the other participants' user rooms
 * (never to the typist's own tabs, which know already). Typing ends by `typing:stop` from every
 * socket that started it, by expiry, by the socket's disconnect, or by the typist's new message
 * in that conversation.
 */
export class TypingRelay {
  private readonly typing = new Map<string, Typing>();
  /** Per socket that sent a typing event, from its first one to its disconnect (idle sockets have none). */
  private readonly sockets = new Map<string, SocketState>();

  /** `typing:start` and `typing:stop`, shared by every socket (shared-handlers.ts). */
  readonly handlers: SocketHandlers;

  constructor(
    private readonly io: SyncServer,
    private readonly directory: ConversationDirectory,
    private readonly tasks: Tasks,
    private readonly log: Logger,
    private readonly options: TypingOptions,
  ) {
    const relay = this;
    this.handlers = {
      events: {
        'typing:start': function (this: SyncSocket, payload: unknown, ack?: unknown) {
          relay.receive(this, 'start', payload, ack);
        },
        'typing:stop': function (this: SyncSocket, payload: unknown, ack?: unknown) {
          relay.receive(this, 'stop', payload, ack);
        },
      },
    };
  }

  /** Ends what the socket was typing; a socket that never sent a typing event has nothing here. */
  disconnected(socket: SyncSocket): void {
    if (!this.sockets.has(socket.id)) return;
    // Serial with the socket's typing events, so a start still being checked cannot outlive it.
    this.tasks.serial(socketKey(socket.id), 'typing disconnect', async () => {
      const keys = this.sockets.get(socket.id)?.typing ?? new Set<string>();
      for (const key of [...keys]) {
        const entry = this.typing.get(key);
        if (entry) this.leave(entry, socket.id);
      }
      this.sockets.delete(socket.id);
    });
  }

  /**
   * A message created by this commit ends its sender's typing in that conversation; a receipt by
   * the recipient (a later state of the message) never does.
   */
  messagesCommitted(docs: readonly MessageDoc[]): void {
    for (const doc of docs) {
      if (!isFirstServerState(doc)) continue;
      const entry = this.typing.get(typingKey(doc.sender, doc.conversation));
      if (entry) this.end(entry);
    }
  }

  close(): void {
    for (const entry of this.typing.values()) this.tasks.cancel(expiryKey(entry));
    this.typing.clear();
  }

  private receive(socket: SyncSocket, kind: 'start' | 'stop', payload: unknown, ack: unknown): void {
    const reply = (typeof ack === 'function' ? ack : () => undefined) as Ack<{ ok: true }>;
    if (socket.disconnected) return;
    let state = this.sockets.get(socket.id);
    if (!state) {
      state = { windowStart: 0, eventsInWindow: 0, typing: new Set() };
      this.sockets.set(socket.id, state);
    }
    const now = Date.now();
    if (now - state.windowStart >= 1000) {
      state.windowStart = now;
      state.eventsInWindow = 0;
    }
    if (++state.eventsInWindow > EVENTS_PER_SECOND) {
      reply(errorBody('RATE_LIMITED', `at most ${EVENTS_PER_SECOND} typing events per second`));
      return;
    }
    const parsed = parseInput(typingPayloadSchema, payload);
    if (!parsed.ok) {
      reply(errorBody(parsed.code, parsed.message));
      return;
    }
    const { conversationId } = parsed.value;
    const userId = socket.data.user.id;
    this.tasks.serial(socketKey(socket.id), `typing:${kind}`, async () => {
      try {
        // Only peers who consented (both wrote) and are not blocked hear it; the ack is the same.
        const peers = await this.directory.typingPeers(userId, conversationId);
        if (!peers) {
          // The same answer for a conversation that does not exist: nothing about others' ids leaks.
          reply(errorBody('FORBIDDEN', 'not a participant of this conversation'));
          return;
        }
        if (!this.sockets.has(socket.id)) return;
        if (kind === 'start') this.start(socket.id, userId, conversationId, peers);
        else this.stop(socket.id, userId, conversationId);
        reply({ ok: true });
      } catch (err) {
        reply(toErrorBody(err, this.log, `typing:${kind}`));
      }
    });
  }

  private start(socketId: string, userId: string, conversationId: string, others: readonly string[]): void {
    const key = typingKey(userId, conversationId);
    let entry = this.typing.get(key);
    const now = Date.now();
    if (!entry) {
      entry = { userId, conversationId, others: [...others], sockets: new Map() };
      this.typing.set(key, entry);
      this.relay(entry, 'typing:start');
      entry.sockets.set(socketId, now);
    } else {
      // Who may hear it can change while typing goes on (a reply gives consent, a block takes it).
      const told = entry.others;
      entry.others = [...others];
      // Repeated while typing goes on, so receivers that expire typing by themselves keep showing
      // it; at once for a peer who was not told before.
      if (now - (entry.sockets.get(socketId) ?? 0) >= this.options.throttleMs || others.some((p) => !told.includes(p))) {
        this.relay(entry, 'typing:start');
        entry.sockets.set(socketId, now);
      }
    }
    this.sockets.get(socketId)?.typing.add(key);
    const current = entry;
    this.tasks.schedule(expiryKey(entry), this.options.ttlMs, () => {
      if (this.typing.get(key) === current) this.end(current);
    });
  }

  private stop(socketId: string, userId: string, conversationId: string): void {
    const entry = this.typing.get(typingKey(userId, conversationId));
    if (entry) this.leave(entry, socketId);
  }

  /** One socket stops; the user stops typing when no socket of theirs here still types. */
  private leave(entry: Typing, socketId: string): void {
    if (!entry.sockets.delete(socketId)) return;
    this.sockets.get(socketId)?.typing.delete(typingKey(entry.userId, entry.conversationId));
    if (entry.sockets.size === 0) this.end(entry);
  }

  private end(entry: Typing): void {
    const key = typingKey(entry.userId, entry.conversationId);
    if (this.typing.get(key) !== entry) return;
    this.typing.delete(key);
    this.tasks.cancel(expiryKey(entry));
    for (const socketId of entry.sockets.keys()) this.sockets.get(socketId)?.typing.delete(key);
    this.relay(entry, 'typing:stop');
  }

  private relay(entry: Typing, event: 'typing:start' | 'typing:stop'): void {
    if (entry.others.length === 0) return;
    this.io.to(entry.others.map(userRoom)).emit(event, { conversationId: entry.conversationId, userId: entry.userId });
  }
}

const typingKey = (userId: string, conversationId: string) => `${userId}\u0000${conversationId}`;
const expiryKey = (entry: Typing) => `typing:${typingKey(entry.userId, entry.conversationId)}`;
const socketKey = (socketId: string) => `socket:${socketId}`;
