import { type Ack, errorBody, parseInput, pullRequestSchema, pushRequestSchema } from '@fetchwork/shared-schema';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import { assertCollection, type SyncService } from '../sync/sync-service';
import type { InFlight } from './in-flight';
import type { OutboundBatch } from './outbound-batch';
import { beginRead, sendResync } from './read-position';
import type { SocketHandlers } from './shared-handlers';
import type { SyncSocket } from './types';

export const drainingBody = () => errorBody('INTERNAL', 'the server is restarting; retry on the next connection');

/**
 * Thin handlers: parse, call the service, answer in the ack. Any failure becomes a coded error
 * in the ack; nothing a client sends can throw out of here.
 */
export function syncHandlers(sync: SyncService, log: Logger, inFlight: InFlight, outbound?: OutboundBatch): SocketHandlers {
  return {
    events: {
      'sync:pull': async function (this: SyncSocket, payload: unknown, ack: unknown) {
        if (typeof ack !== 'function') return;
        const reply = ack as Ack<unknown>;
        if (inFlight.draining) return reply(drainingBody());
        try {
          const parsed = parseInput(pullRequestSchema, payload);
          if (!parsed.ok) {
            const code =
              parsed.code === 'VALIDATION_FAILED' && parsed.message.startsWith('checkpoint') ? 'INVALID_CHECKPOINT' : parsed.code;
            return reply(errorBody(code, parsed.message));
          }
          const collection = assertCollection(parsed.value.collection);
          const read = beginRead(this, collection);
          const result = await sync.pull(this.data.user, collection, parsed.value.checkpoint, parsed.value.batchSize);
          const crossed = read.settle(result.checkpoint?.seq ?? null);
          reply(result);
          if (crossed) sendResync(this, collection);
        } catch (err) {
          reply(toErrorBody(err, log, 'sync:pull'));
        }
      },

      'sync:push': function (this: SyncSocket, payload: unknown, ack: unknown) {
        if (typeof ack !== 'function') return;
        const reply = ack as Ack<unknown>;
        if (inFlight.draining) return reply(drainingBody());
        // The answer is part of the tracked work: a shutdown waits until it is written, not only
        // until the commit is done (group commit finishes many pushes in one turn).
        void inFlight.track(async () => {
          try {
            const parsed = parseInput(pushRequestSchema, payload, { shallow: true });
            if (!parsed.ok) return reply(errorBody(parsed.code, parsed.message));
            const collection = assertCollection(parsed.value.collection);
            const { conflicts, rejected } = await sync.push(this.data.user, collection, parsed.value.rows);
            // The ack leaves together with this commit group's streams to the same socket.
            outbound?.hold(this);
            reply({ conflicts, rejected });
          } catch (err) {
            reply(toErrorBody(err, log, 'sync:push'));
          }
        });
      },
    },
  };
}

export function toErrorBody(err: unknown, log: Logger, event: string) {
  if (err instanceof AppError) return errorBody(err.code, err.message);
  log.error({ err, event }, 'handler failed');
  return errorBody('INTERNAL', 'the server could not handle this request; retry later');
}
