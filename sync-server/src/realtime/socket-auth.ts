import { authRenewPayloadSchema, errorBody, UNAUTHORIZED_CONNECT_ERROR } from '@fetchwork/shared-schema';
import type { AccessTokens } from '../auth/access-tokens';
import type { AuthUser } from '../auth/tokens';
import type { Logger } from '../logger';
import { checkProtocolVersion } from './protocol-version';
import { attachHandlers, type SocketHandlers } from './shared-handlers';
import type { SyncServer, SyncSocket } from './types';
import { sessionRoom, userRoom } from './types';

/** Longest delay setTimeout accepts; a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Handshake checks: first the protocol version (protocol-version.ts: an old client gets
 * `connect_error` `upgrade_required` with `data.minVersion`), then the access token with the same
 * check as HTTP (signature, claims, ended session). A refused token fails with `connect_error`
 * message `unauthorized`. An accepted socket joins its user's room and its session's room.
 *
 * Renewal: the client sends `auth:renew` with a fresh token before the old one expires, and the
 * connection simply goes on. One that missed it gets `auth:expired` at expiry and
 * a grace period (AUTH_RENEW_GRACE_MS) to renew; meanwhile its other events are refused (UNAUTHORIZED), and then
 * it is disconnected.
 */
export interface SocketAuthOptions {
  /** How long a socket whose token expired may take to renew it (AUTH_RENEW_GRACE_MS). */
  renewGraceMs: number;
  /** Told the user of every accepted handshake and renewal (the user directory learns names from it). */
  identified(user: AuthUser): void;
}

export function installSocketAuth(io: SyncServer, access: AccessTokens, log: Logger, options: SocketAuthOptions): void {
  io.use((socket, next) => {
    const version = checkProtocolVersion(socket.handshake.auth);
    if (!version.ok) {
      log.info({ code: version.error.data.code, message: version.error.data.message }, 'socket handshake refused: protocol version');
      next(version.error);
      return;
    }
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const result = access.verify(typeof token === 'string' ? token : null);
    if (!result.ok) {
      log.info({ reason: result.reason }, 'socket handshake refused');
      next(new Error(UNAUTHORIZED_CONNECT_ERROR));
      return;
    }
    socket.data.user = result.user;
    socket.data.cursors = {};
    socket.data.streamed = {};
    socket.data.protocolVersion = version.version;
    next();
  });

  /** `auth:renew`, shared by every socket (shared-handlers.ts). */
  const renew = function (this: SyncSocket, payload: unknown, ack: unknown) {
    const answer = typeof ack === 'function' ? ack : () => {};
    const parsed = authRenewPayloadSchema.safeParse(payload);
    if (!parsed.success) return answer(errorBody('VALIDATION_FAILED', 'auth:renew carries { token }'));
    const result = access.verify(parsed.data.token);
    if (!result.ok) return answer(errorBody(result.reason === 'revoked' ? 'SESSION_REVOKED' : 'UNAUTHORIZED', `token ${result.reason}`));
    if (result.user.id !== this.data.user.id) return answer(errorBody('FORBIDDEN', 'a renewed token must be for the same user'));
    const previous = this.data.user.sessionId;
    if (previous !== result.user.sessionId) {
      if (previous) void this.leave(sessionRoom(previous));
      if (result.user.sessionId) void this.join(sessionRoom(result.user.sessionId));
    }
    this.data.user = result.user;
    armExpiry(this, options.renewGraceMs);
    options.identified(result.user);
    answer({ expiresAt: result.user.expiresAt });
  };
  const handlers: SocketHandlers = {
    events: { 'auth:renew': renew },
    disconnect(this: SyncSocket) {
      clearTimeout(this.data.expiry);
    },
  };

  io.on('connection', (socket) => {
    const { user } = socket.data;
    void socket.join(userRoom(user.id));
    if (user.sessionId) void socket.join(sessionRoom(user.sessionId));
    armExpiry(socket, options.renewGraceMs);
    socket.use((packet, next) => {
      if (packet[0] === 'auth:renew' || !expired(socket)) return next();
      const last = packet[packet.length - 1];
      if (typeof last === 'function') (last as (answer: unknown) => void)(errorBody('UNAUTHORIZED', 'token expired: send auth:renew'));
    });
    attachHandlers(socket, handlers);
    options.identified(user);
    log.debug({ userId: user.id, socketId: socket.id }, 'socket connected');
  });
}

const expired = (socket: SyncSocket) => {
  const { expiresAt } = socket.data.user;
  return expiresAt !== null && expiresAt <= Date.now();
};

/**
 * Watches the socket's token: `auth:expired` at expiry, a disconnect after the grace unless
 * renewed. The timer (in `socket.data.expiry`) calls back with its arguments, not a closure.
 */
function armExpiry(socket: SyncSocket, graceMs: number): void {
  clearTimeout(socket.data.expiry);
  socket.data.expiry = undefined;
  const { expiresAt } = socket.data.user;
  if (expiresAt === null || socket.disconnected) return;
  const delay = expiresAt - Date.now();
  if (delay > 0) {
    socket.data.expiry = setTimeout(armExpiry, Math.min(delay, MAX_TIMER_MS), socket, graceMs);
  } else {
    socket.emit('auth:expired');
    socket.data.expiry = setTimeout(disconnectIfExpired, Math.max(0, graceMs + delay), socket);
  }
  socket.data.expiry.unref();
}

function disconnectIfExpired(socket: SyncSocket): void {
  if (expired(socket)) socket.disconnect(true);
}

/**
 * Ended sessions lose their sockets on every instance within moments: the instance that ended
 * them tells the others (their access tokens are refused from now on) and cuts the sockets of the
 * session's room through the adapter, which reaches every instance's sockets.
 */
export function installSessionRevocation(io: SyncServer, access: AccessTokens, crossInstance: boolean): () => void {
  if (crossInstance) io.on('session:revoked', (ids) => access.revocations.add(ids, 'remote'));
  return access.revocations.onLocalRevocation((ids) => {
    if (crossInstance) io.serverSideEmit('session:revoked', ids);
    const rooms = ids.map(sessionRoom);
    io.in(rooms).emit('auth:revoked');
    io.in(rooms).disconnectSockets(true);
  });
}
