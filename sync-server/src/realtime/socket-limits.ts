import { errorBody } from '@fetchwork/shared-schema';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import type { RateLimits } from './rate-limits';
import type { SyncServer } from './types';

/**
 * Per-user connection cap at the handshake and a per-socket event rate. An event over the rate
 * is answered in its ack with RATE_LIMITED (RxDB retries it later) and never reaches a handler,
 * so a flooding client slows only itself.
 */
export function installSocketLimits(io: SyncServer, limits: RateLimits, metrics: Metrics, log: Logger): void {
  io.use((socket, next) => {
    const { user } = socket.data;
    if (!limits.openSocket(user.id)) {
      metrics.rateLimited.inc({ scope: 'connections' });
      log.warn({ userId: user.id }, 'too many sockets for one user');
      next(new Error('too many connections'));
      return;
    }
    socket.once('disconnect', () => limits.closeSocket(user.id));
    next();
  });

  io.on('connection', (socket) => {
    metrics.connectedSockets.inc();
    socket.once('disconnect', () => metrics.connectedSockets.dec());
    socket.use((packet, next) => {
      limits.allowSocketEvent(socket.id).then(
        (allowed) => {
          if (allowed) return next();
          metrics.rateLimited.inc({ scope: 'socket' });
          const ack = packet[packet.length - 1];
          if (typeof ack === 'function') ack(errorBody('RATE_LIMITED', 'too many events; slow down'));
        },
        (err) => next(err instanceof Error ? err : new Error(String(err))),
      );
    });
  });
}
