import { type Ack, errorBody, notificationFocusSchema, parseInput } from '@fetchwork/shared-schema';
import type { Logger } from '../logger';
import type { FocusTracker } from '../notifications/focus-tracker';
import type { SocketHandlers } from './shared-handlers';
import { toErrorBody } from './sync-handlers';
import type { SyncSocket } from './types';

/**
 * `notifications:focus`: which conversation this socket's tab has open, visible and focused (or
 * null). A conversation the user is not in is accepted without a check: it can only hold back the
 * caller's own notifications, and asking the store would cost a read per focus change.
 */
export function notificationHandlers(focus: FocusTracker, log: Logger): SocketHandlers {
  return {
    events: {
      'notifications:focus': function (this: SyncSocket, payload: unknown, ack?: unknown) {
        const reply = typeof ack === 'function' ? (ack as Ack<{ ok: true }>) : () => undefined;
        const parsed = parseInput(notificationFocusSchema, payload);
        if (!parsed.ok) return reply(errorBody(parsed.code, parsed.message));
        focus.set(this.data.user.id, this.id, parsed.value.conversationId).then(
          () => reply({ ok: true }),
          (err) => reply(toErrorBody(err, log, 'notifications:focus')),
        );
      },
    },
    disconnect(this: SyncSocket) {
      focus.disconnected(this.data.user.id, this.id);
    },
  };
}
