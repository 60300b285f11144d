import { type ClientToServerEvents, errorBody } from '@fetchwork/shared-schema';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import type { RateLimits } from './rate-limits';
import type { SyncServer, SyncSocket } from './types';

/** Every event a client may send; anything else is answered "unknown event". */
export const CLIENT_EVENT_NAMES = [
  'sync:pull',
  'sync:push',
  'sync:bootstrap',
  'sync:history',
  'sync:page',
  'messages:delivered',
  'typing:start',
  'typing:stop',
  'notifications:focus',
  'auth:renew',
] as const satisfies readonly (keyof ClientToServerEvents)[];
const CLIENT_EVENTS: ReadonlySet<unknown> = new Set(CLIENT_EVENT_NAMES);

/**
 * Per-user connection cap at the handshake, an event rate per socket and per user (across the
 * user's sockets on this instance) and the event shape. An
 * event over the rate is answered in its ack with RATE_LIMITED (RxDB retries it later) and never
 * reaches a handler, so a flooding client slows only itself; so is an event that is not one of
 * the client events with exactly one payload (VALIDATION_FAILED).
 */
export function installSocketLimits(io: SyncServer, limits: RateLimits, metrics: Metrics, log: Logger): void {
  // Shared by every socket (shared-handlers.ts); the user's id cannot change on a socket.
  const closeSocket = function (this: SyncSocket) {
    limits.closeSocket(this.data.user.id);
  };
  const uncount = () => metrics.connectedSockets.dec();
  io.use((socket, next) => {
    const { user } = socket.data;
    if (!limits.openSocket(user.id)) {
      metrics.rateLimited.inc({ scope: 'connections' });
      log.warn({ userId: user.id }, 'too many sockets for one user');
      next(new Error('too many connections'));
      return;
    }
    socket.on('disconnect', closeSocket);
    next();
  });

  io.on('connection', (socket) => {
    // Cut already (a token that expired during the handshake): its disconnect has fired.
    if (socket.disconnected) return;
    metrics.connectedSockets.inc();
    socket.on('disconnect', uncount);
    socket.use((packet, next) => {
      limits.refuseSocketEvent(socket.id, socket.data.user.id).then(
        (refused) => {
          const last = packet[packet.length - 1];
          const ack = typeof last === 'function' ? (last as (answer: unknown) => void) : null;
          if (refused) {
            metrics.rateLimited.inc({ scope: refused });
            ack?.(errorBody('RATE_LIMITED', 'too many events; slow down'));
            return;
          }
          // Every client event is `[name, payload, ack?]`. Anything else (an unknown name, no
          // payload, extra arguments) is answered here when it has an ack instead of hanging the
          // caller until its timeout, and never reaches a handler.
          const payloads = packet.length - 1 - (ack ? 1 : 0);
          if (!CLIENT_EVENTS.has(packet[0])) {
            ack?.(errorBody('VALIDATION_FAILED', 'unknown event'));
            return;
          }
          if (payloads !== 1) {
            ack?.(errorBody('VALIDATION_FAILED', 'an event carries exactly one payload, then its ack'));
            return;
          }
          next();
        },
        (err) => next(err instanceof Error ? err : new Error(String(err))),
      );
    });
  });
}
