import { type Ack, bootstrapRequestSchema, errorBody, historyRequestSchema, pageRequestSchema } from '@fetchwork/shared-schema';
import type { Logger } from '../logger';
import type { HistoryService } from '../sync/history-service';
import { assertCollection } from '../sync/sync-service';
import type { InFlight } from './in-flight';
import { parseReadRequest } from './read-input';
import type { SharedHandler, SocketHandlers } from './shared-handlers';
import { drainingBody, toErrorBody } from './sync-handlers';
import type { SyncSocket } from './types';

type ReadEvent = 'sync:bootstrap' | 'sync:history' | 'sync:page';

/**
 * Recent first: `sync:bootstrap`, `sync:history`, `sync:page`. Thin like the pull handler:
 * parse, call the history service, answer; any failure is a coded error in the ack.
 */
export function historyHandlers(history: HistoryService, log: Logger, inFlight: InFlight): SocketHandlers {
  /** Reads share pull's envelope: no ack, no answer; refused while the server drains. */
  const read = (event: ReadEvent, handle: (socket: SyncSocket, payload: unknown) => Promise<unknown>): SharedHandler =>
    async function (this: SyncSocket, payload: unknown, ack?: unknown) {
      if (typeof ack !== 'function') return;
      const reply = ack as Ack<unknown>;
      if (inFlight.draining) return reply(drainingBody());
      try {
        reply(await handle(this, payload));
      } catch (err) {
        reply(toErrorBody(err, log, event));
      }
    };

  return {
    events: {
      'sync:bootstrap': read('sync:bootstrap', async (socket, payload) => {
        const parsed = parseReadRequest(bootstrapRequestSchema, payload);
        if (!parsed.ok) return errorBody(parsed.code, parsed.message);
        const collection = assertCollection(parsed.value.collection);
        const result = await history.bootstrap(socket.data.user, collection, parsed.value.pageSize, parsed.value.conversations);
        // As after a pull: the client will hold exactly the feed up to the head, so the stream
        // dispatcher may send the next commit's documents instead of a resync.
        socket.data.cursors[collection] = result.checkpoint?.seq ?? 0;
        return result;
      }),

      'sync:history': read('sync:history', async (socket, payload) => {
        const parsed = parseReadRequest(historyRequestSchema, payload);
        if (!parsed.ok) return errorBody(parsed.code, parsed.message);
        const collection = assertCollection(parsed.value.collection);
        return history.history(socket.data.user, collection, parsed.value.before, parsed.value.limit);
      }),

      'sync:page': read('sync:page', async (socket, payload) => {
        const parsed = parseReadRequest(pageRequestSchema, payload);
        if (!parsed.ok) return errorBody(parsed.code, parsed.message);
        return history.page(socket.data.user, parsed.value.conversationId, parsed.value.before, parsed.value.limit);
      }),
    },
  };
}
