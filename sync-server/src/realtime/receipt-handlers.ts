import { type Ack, deliveredPayloadSchema, errorBody, parseInput } from '@fetchwork/shared-schema';
import type { Logger } from '../logger';
import type { MessagingService } from '../messaging/messaging-service';
import type { InFlight } from './in-flight';
import type { SocketHandlers } from './shared-handlers';
import { drainingBody, toErrorBody } from './sync-handlers';
import type { SyncSocket } from './types';

/** `messages:delivered`: parse, let the messaging service apply the receipts, answer. */
export function receiptHandlers(messaging: MessagingService, log: Logger, inFlight: InFlight): SocketHandlers {
  return {
    events: {
      'messages:delivered': function (this: SyncSocket, payload: unknown, ack: unknown) {
        if (typeof ack !== 'function') return;
        const reply = ack as Ack<unknown>;
        if (inFlight.draining) return reply(drainingBody());
        const user = this.data.user;
        // Answered inside the tracked work, so a shutdown waits until the answer is written.
        void inFlight.track(async () => {
          try {
            const parsed = parseInput(deliveredPayloadSchema, payload);
            if (!parsed.ok) return reply(errorBody(parsed.code, parsed.message));
            reply(await messaging.markDelivered(user, [...new Set(parsed.value.ids)]));
          } catch (err) {
            reply(toErrorBody(err, log, 'messages:delivered'));
          }
        });
      },
    },
  };
}
