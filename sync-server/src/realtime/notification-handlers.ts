import { type Ack, errorBody, notificationFocusSchema, parseInput } from '@fetchwork/shared-schema';
import type { Logger } from '../logger';
import type { FocusTracker } from '../notifications/focus-tracker';
import { toErrorBody } from './sync-handlers';
import type { SyncSocket } from './types';

/**
 * `notifications:focus`: which conversation this socket's tab has open, visible and focused (or
 * null). A conversation the user is not in is accepted without a check: it can only hold back the
 * caller's own notifications, and asking the store would cost a read per focus change.
 */
export function registerNotificationHandlers(socket: SyncSocket, focus: FocusTracker, log: Logger): void {
  const userId = socket.data.user.id;
  socket.on('notifications:focus', (payload: unknown, ack?: unknown) => {
    const reply = typeof ack === 'function' ? (ack as Ack<{ ok: true }>) : () => undefined;
    const parsed = parseInput(notificationFocusSchema, payload);
    if (!parsed.ok) return reply(errorBody(parsed.code, parsed.message));
    focus.set(userId, socket.id, parsed.value.conversationId).then(
      () => reply({ ok: true }),
      (err) => reply(toErrorBody(err, log, 'notifications:focus')),
    );
  });
  socket.once('disconnect', () => focus.disconnected(userId, socket.id));
}
