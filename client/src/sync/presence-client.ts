import type { ClientToServerEvents, PresenceState, ServerToClientEvents, TypingEvent } from '@fetchwork/shared-schema';
import { BehaviorSubject, distinctUntilChanged, map, type Observable } from 'rxjs';
import type { Socket } from 'socket.io-client';

type PresenceSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface PresenceClientOptions {
  /**
   * While `setTyping(id, true)` holds, `typing:start` is sent again this often, so the server
   * (which stops typing 5 s after the last start) keeps relaying it.
   */
  keepAliveMs?: number;
  /** Repeated `setTyping(id, true)` calls send at most one start per this interval. */
  throttleMs?: number;
  /**
   * Someone else's typing is dropped this long after their last `typing:start`, in case the
   * matching stop never arrives (their server instance died).
   */
  typingExpiryMs?: number;
}

export interface PresenceClient {
  /** Whether a contact is online; false for unknown users and while this socket is disconnected. */
  online$(userId: string): Observable<boolean>;
  /** Who else is typing in a conversation, sorted by id. */
  typingUsers$(conversationId: string): Observable<string[]>;
  /** Announces or ends this user's typing; stopping on blur, send or idle is the caller's job. */
  setTyping(conversationId: string, active: boolean): void;
  dispose(): void;
  /** Same as dispose, for the inbox's presence slot. */
  close(): void;
}

const DEFAULTS = { keepAliveMs: 3_000, throttleMs: 2_000, typingExpiryMs: 8_000 };

interface OwnTyping {
  lastSent: number;
  keepAlive: ReturnType<typeof setInterval>;
}

/**
 * Presence and typing over an existing socket. The server sends `presence:state` (the online
 * contacts) after every handshake, so everything known is dropped on disconnect and rebuilt on
 * connect: nothing from before a reconnect can linger.
 */
export function createPresenceClient(socket: PresenceSocket, options: PresenceClientOptions = {}): PresenceClient {
  const { keepAliveMs, throttleMs, typingExpiryMs } = { ...DEFAULTS, ...options };
  const online = new BehaviorSubject<ReadonlySet<string>>(new Set());
  /** conversation id → user id → when their typing expires here. */
  const typing = new BehaviorSubject<ReadonlyMap<string, ReadonlyMap<string, number>>>(new Map());
  const expiryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  const own = new Map<string, OwnTyping>();
  let disposed = false;

  const setOnline = (userId: string, isOnline: boolean) => {
    const current = online.value;
    if (current.has(userId) === isOnline) return;
    const next = new Set(current);
    if (isOnline) next.add(userId);
    else next.delete(userId);
    online.next(next);
  };

  const setTypingOf = (conversationId: string, userId: string, expiresAt: number | null) => {
    const next = new Map(typing.value);
    const users = new Map(next.get(conversationId) ?? []);
    const key = `${conversationId}\u0000${userId}`;
    clearTimeout(expiryTimers.get(key));
    expiryTimers.delete(key);
    if (expiresAt === null) {
      if (!users.delete(userId)) return;
    } else {
      users.set(userId, expiresAt);
      expiryTimers.set(
        key,
        setTimeout(() => setTypingOf(conversationId, userId, null), expiresAt - Date.now()),
      );
    }
    if (users.size === 0) next.delete(conversationId);
    else next.set(conversationId, users);
    typing.next(next);
  };

  const forgetEverything = () => {
    for (const timer of expiryTimers.values()) clearTimeout(timer);
    expiryTimers.clear();
    if (online.value.size > 0) online.next(new Set());
    if (typing.value.size > 0) typing.next(new Map());
  };

  // Volatile: typing is worthless later, so nothing queues while the socket is down.
  const sendStart = (conversationId: string, state: OwnTyping) => {
    state.lastSent = Date.now();
    if (socket.connected) socket.volatile.emit('typing:start', { conversationId });
  };

  const onState = (state: PresenceState) => online.next(new Set(state.online));
  const onOnline = (e: { userId: string }) => setOnline(e.userId, true);
  const onOffline = (e: { userId: string }) => {
    setOnline(e.userId, false);
    // Someone who went away is not typing anywhere any more.
    for (const [conversationId, users] of typing.value) if (users.has(e.userId)) setTypingOf(conversationId, e.userId, null);
  };
  const onTypingStart = (e: TypingEvent) => setTypingOf(e.conversationId, e.userId, Date.now() + typingExpiryMs);
  const onTypingStop = (e: TypingEvent) => setTypingOf(e.conversationId, e.userId, null);
  const onDisconnect = () => forgetEverything();
  // presence:state follows every handshake; before it arrives, nothing from the last connection counts.
  const onConnect = () => {
    forgetEverything();
    // Typing that outlived the connection is announced again (the server stopped it on disconnect).
    for (const [conversationId, state] of own) sendStart(conversationId, state);
  };

  socket.on('presence:state', onState);
  socket.on('user:online', onOnline);
  socket.on('user:offline', onOffline);
  socket.on('typing:start', onTypingStart);
  socket.on('typing:stop', onTypingStop);
  socket.on('disconnect', onDisconnect);
  socket.on('connect', onConnect);

  const stopOwn = (conversationId: string) => {
    const state = own.get(conversationId);
    if (!state) return;
    clearInterval(state.keepAlive);
    own.delete(conversationId);
    if (socket.connected) socket.volatile.emit('typing:stop', { conversationId });
  };

  const dispose = () => {
    if (disposed) return;
    disposed = true;
    for (const conversationId of [...own.keys()]) stopOwn(conversationId);
    socket.off('presence:state', onState);
    socket.off('user:online', onOnline);
    socket.off('user:offline', onOffline);
    socket.off('typing:start', onTypingStart);
    socket.off('typing:stop', onTypingStop);
    socket.off('disconnect', onDisconnect);
    socket.off('connect', onConnect);
    forgetEverything();
    online.complete();
    typing.complete();
  };

  return {
    online$: (userId) =>
      online.pipe(
        map((set) => set.has(userId)),
        distinctUntilChanged(),
      ),
    typingUsers$: (conversationId) =>
      typing.pipe(
        map((byConversation) => [...(byConversation.get(conversationId)?.keys() ?? [])].sort()),
        distinctUntilChanged((a, b) => a.length === b.length && a.every((id, i) => id === b[i])),
      ),
    setTyping(conversationId, active) {
      if (disposed) return;
      if (!active) {
        stopOwn(conversationId);
        return;
      }
      const state = own.get(conversationId);
      if (state) {
        if (Date.now() - state.lastSent >= throttleMs) sendStart(conversationId, state);
        return;
      }
      const fresh: OwnTyping = {
        lastSent: 0,
        keepAlive: setInterval(() => sendStart(conversationId, fresh), keepAliveMs),
      };
      own.set(conversationId, fresh);
      sendStart(conversationId, fresh);
    },
    dispose,
    close: dispose,
  };
}
