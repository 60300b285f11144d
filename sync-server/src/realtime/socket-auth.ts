import { UNAUTHORIZED_CONNECT_ERROR } from '@fetchwork/shared-schema';
import { verifyToken } from '../auth/tokens';
import type { Logger } from '../logger';
import type { SyncStore } from '../store/port';
import { checkProtocolVersion } from './protocol-version';
import type { SyncServer, SyncSocket } from './types';
import { userRoom } from './types';

/** Longest delay setTimeout accepts; a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Handshake checks: first the protocol version (protocol-version.ts: an old client gets
 * `connect_error` `upgrade_required` with `data.minVersion`), then authentication with the same
 * verify function as HTTP. A refused token fails with `connect_error` message `unauthorized`; an accepted socket joins its user's room and is cut
 * (after an `auth:expired` notice) when its token expires, so the client reconnects with a fresh
 * token from its `auth` callback.
 */
export function installSocketAuth(io: SyncServer, secret: string, store: SyncStore, log: Logger): void {
  io.use((socket, next) => {
    const version = checkProtocolVersion(socket.handshake.auth);
    if (!version.ok) {
      log.info({ code: version.error.data.code, message: version.error.data.message }, 'socket handshake refused: protocol version');
      next(version.error);
      return;
    }
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const result = verifyToken(typeof token === 'string' ? token : null, secret);
    if (!result.ok) {
      log.info({ reason: result.reason }, 'socket handshake refused');
      next(new Error(UNAUTHORIZED_CONNECT_ERROR));
      return;
    }
    socket.data.user = result.user;
    socket.data.cursors = {};
    socket.data.protocolVersion = version.version;
    next();
  });

  io.on('connection', (socket) => {
    const { user } = socket.data;
    void socket.join(userRoom(user.id));
    armExpiry(socket);
    if (user.name) {
      store.upsertUser({ id: user.id, name: user.name }).catch((err) => log.warn({ err, userId: user.id }, 'profile upsert failed'));
    }
    log.debug({ userId: user.id, socketId: socket.id }, 'socket connected');
  });
}

function armExpiry(socket: SyncSocket): void {
  const { expiresAt } = socket.data.user;
  if (expiresAt === null) return;
  const delay = expiresAt - Date.now();
  if (delay <= 0) {
    socket.emit('auth:expired');
    socket.disconnect(true);
    return;
  }
  const timer = setTimeout(() => armExpiry(socket), Math.min(delay, MAX_TIMER_MS));
  timer.unref();
  socket.once('disconnect', () => clearTimeout(timer));
}
