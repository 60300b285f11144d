import {
  type ClientToServerEvents,
  type HandshakeAuth,
  PROTOCOL_VERSION,
  type ServerToClientEvents,
  UNAUTHORIZED_CONNECT_ERROR,
  UNSUPPORTED_VERSION_CONNECT_ERROR,
  UPGRADE_REQUIRED_CONNECT_ERROR,
  type UpgradeRequiredData,
} from '@fetchwork/shared-schema';
import { BehaviorSubject, distinctUntilChanged, type Observable, Subject } from 'rxjs';
import { io, type Socket } from 'socket.io-client';
import { renewalDueMs } from '../auth/jwt-expiry';

export type SyncSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type SocketStatus =
  /** An attempt is under way; never reported while the browser says it is offline. */
  | { kind: 'connecting'; attempt: number }
  | { kind: 'connected' }
  /** Not connected; socket.io retries with backoff (attempt = failed attempts so far). */
  | { kind: 'offline'; attempt: number }
  /** The handshake was refused: the user must sign in again; nothing retries by itself. */
  | { kind: 'unauthorized' }
  /**
   * The server no longer serves this app's protocol version: only loading the new version helps.
   * Final for this socket: nothing retries, and `reconnect()` does nothing. Unsent writes stay in
   * the replica and go out from the new version after the reload.
   */
  | { kind: 'upgrade-required'; minVersion: number }
  | { kind: 'closed' };

export interface SyncSocketOptions {
  url: string;
  /** Asked on every (re)connect, so a refreshed token is used as soon as it exists. */
  getToken: () => string | null | Promise<string | null>;
  transports?: ('websocket' | 'polling')[];
  path?: string;
  reconnectionDelayMs?: number;
  reconnectionDelayMaxMs?: number;
  /** Sent in the handshake; default PROTOCOL_VERSION (tests pass another to play an older app). */
  protocolVersion?: number;
}

export interface SocketConnection {
  readonly socket: SyncSocket;
  readonly status$: Observable<SocketStatus>;
  /** Emits after every successful handshake, the first one included. */
  readonly connected$: Observable<void>;
  /** Emits when the server announced that the token expired (the socket renews it at once; a disconnect follows if that fails). */
  readonly authExpired$: Observable<void>;
  status(): SocketStatus;
  /** Starts over after `unauthorized` (once the app has a new token) or a manual disconnect; never after `upgrade-required`. */
  reconnect(): void;
  close(): void;
}

const sameStatus = (a: SocketStatus, b: SocketStatus) => JSON.stringify(a) === JSON.stringify(b);

/** The socket renews this long before expiry (at most a quarter of the token's lifetime); token sources refresh with a larger margin, so a renewal gets a fresh token. */
const RENEW_BEFORE_EXPIRY_MS = 60_000;

/** Only a browser that says so is offline: Node has no navigator.onLine, and there every attempt counts. */
const browserOffline = () => typeof navigator !== 'undefined' && navigator.onLine === false;

export function connectSyncSocket(options: SyncSocketOptions): SocketConnection {
  const protocolVersion = options.protocolVersion ?? PROTOCOL_VERSION;
  const handshake = (token: string): HandshakeAuth => ({ token, protocolVersion });
  const socket: SyncSocket = io(options.url, {
    autoConnect: false,
    transports: options.transports ?? ['websocket', 'polling'],
    path: options.path,
    reconnection: true,
    reconnectionDelay: options.reconnectionDelayMs ?? 1000,
    reconnectionDelayMax: options.reconnectionDelayMaxMs ?? 10_000,
    randomizationFactor: 0.5,
    auth: (cb) => {
      Promise.resolve()
        .then(() => options.getToken())
        .then(
          (token) => cb(handshake(token ?? '')),
          () => cb(handshake('')),
        );
    },
  });

  const connected = new Subject<void>();
  const authExpired = new Subject<void>();
  let closed = false;
  let failures = 0;
  let versionRetry: ReturnType<typeof setTimeout> | undefined;
  // socket.io keeps trying while the browser is offline; those attempts cannot succeed, and
  // showing each one would turn "offline" into "reconnecting" every few seconds.
  const attempting = (attempt: number): SocketStatus =>
    browserOffline() ? { kind: 'offline', attempt: failures } : { kind: 'connecting', attempt };
  const status = new BehaviorSubject<SocketStatus>(attempting(0));
  const upgradeRequired = () => status.value.kind === 'upgrade-required';
  // An upgrade-required status is final: later socket events (there should be none) change nothing.
  const set = (next: SocketStatus) => {
    if (!closed && !upgradeRequired()) status.next(next);
  };

  socket.on('connect', () => {
    failures = 0;
    set({ kind: 'connected' });
    connected.next();
  });
  socket.on('disconnect', (reason) => {
    clearTimeout(renewTimer);
    if (closed || upgradeRequired() || status.value.kind === 'unauthorized') return;
    if (reason === 'io server disconnect') {
      // socket.io does not retry a server-side disconnect; the server does that on token
      // expiry and on shutdown, and both want a new handshake (with a fresh token).
      set(attempting(0));
      socket.connect();
    } else if (reason === 'io client disconnect') {
      set({ kind: 'offline', attempt: 0 });
    } else {
      set(attempting(0));
    }
  });
  socket.on('connect_error', (err) => {
    if (err.message === UPGRADE_REQUIRED_CONNECT_ERROR) {
      // A refusal by the server's handshake check: socket.io has already let the connection go
      // and does not retry it, and nothing here starts it again (restart, the online event and a
      // server disconnect check the status).
      const data = (err as Error & { data?: Partial<UpgradeRequiredData> }).data;
      set({ kind: 'upgrade-required', minVersion: typeof data?.minVersion === 'number' ? data.minVersion : protocolVersion + 1 });
      return;
    }
    if (err.message === UNAUTHORIZED_CONNECT_ERROR) {
      set({ kind: 'unauthorized' });
      return;
    }
    if (err.message === UNSUPPORTED_VERSION_CONNECT_ERROR) {
      // This app is newer than the server (deployed first): the server is updated next. A
      // refused handshake is not retried by socket.io, so try again after the longest backoff.
      clearTimeout(versionRetry);
      versionRetry = setTimeout(() => restart(), options.reconnectionDelayMaxMs ?? 10_000);
    }
    failures += 1;
    set({ kind: 'offline', attempt: failures });
  });
  // Renewal: a fresh token goes over the open connection (`auth:renew`) before the old one
  // expires, so the connection never drops for it. The server's `auth:expired` (a tab that slept
  // through the timer) asks for one at once; `auth:revoked` ends the session for good.
  let renewTimer: ReturnType<typeof setTimeout> | undefined;
  const scheduleRenew = (token: string | null) => {
    clearTimeout(renewTimer);
    const due = token ? renewalDueMs(token, RENEW_BEFORE_EXPIRY_MS) : null;
    if (due === null) return;
    renewTimer = setTimeout(() => void renew(), Math.max(1_000, due - Date.now()));
  };
  const renew = async () => {
    if (closed || !socket.connected) return;
    const token = await Promise.resolve()
      .then(() => options.getToken())
      .catch(() => null);
    if (!token || !socket.connected) return;
    try {
      const answer = await socket.timeout(10_000).emitWithAck('auth:renew', { token });
      if ('error' in answer) {
        if (answer.error.code === 'SESSION_REVOKED') revoked();
        return;
      }
      scheduleRenew(token);
    } catch {
      // No answer: the connection is going; the next handshake carries a fresh token.
    }
  };
  const revoked = () => {
    clearTimeout(renewTimer);
    set({ kind: 'unauthorized' });
    socket.disconnect();
  };
  socket.on('connect', () => {
    void Promise.resolve()
      .then(() => options.getToken())
      .then(scheduleRenew, () => undefined);
  });
  socket.on('auth:expired', () => {
    authExpired.next();
    void renew();
  });
  socket.on('auth:revoked', revoked);
  socket.io.on('reconnect_attempt', (attempt) => set(attempting(attempt)));

  const restart = () => {
    if (closed || upgradeRequired()) return;
    if (socket.connected) return;
    // A fresh manager cycle skips whatever backoff delay is pending.
    socket.disconnect();
    set(attempting(0));
    socket.connect();
  };
  const onOnline = () => {
    if (status.value.kind !== 'unauthorized') restart();
  };
  const onOffline = () => {
    if (!socket.connected) set({ kind: 'offline', attempt: failures });
  };
  const win = typeof window !== 'undefined' && typeof window.addEventListener === 'function' ? window : null;
  win?.addEventListener('online', onOnline);
  win?.addEventListener('offline', onOffline);

  socket.connect();

  return {
    socket,
    status$: status.pipe(distinctUntilChanged(sameStatus)),
    connected$: connected.asObservable(),
    authExpired$: authExpired.asObservable(),
    status: () => status.value,
    reconnect: restart,
    close() {
      if (closed) return;
      clearTimeout(versionRetry);
      clearTimeout(renewTimer);
      win?.removeEventListener('online', onOnline);
      win?.removeEventListener('offline', onOffline);
      socket.disconnect();
      socket.removeAllListeners();
      status.next({ kind: 'closed' });
      closed = true;
      status.complete();
      connected.complete();
      authExpired.complete();
    },
  };
}
