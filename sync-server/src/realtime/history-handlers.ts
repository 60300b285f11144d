import { type Ack, bootstrapRequestSchema, errorBody, historyRequestSchema, pageRequestSchema } from '@fetchwork/shared-schema';
import type { Logger } from '../logger';
import type { HistoryService } from '../sync/history-service';
import { assertCollection } from '../sync/sync-service';
import type { InFlight } from './in-flight';
import { parseReadRequest } from './read-input';
import { toErrorBody } from './sync-handlers';
import type { SyncSocket } from './types';

/**
 * Recent first: `sync:bootstrap`, `sync:history`, `sync:page`. Thin like the pull handler:
 * parse, call the history service, answer; any failure is a coded error in the ack.
 */
export function registerHistoryHandlers(socket: SyncSocket, history: HistoryService, log: Logger, inFlight: InFlight): void {
  const user = socket.data.user;

  /** Reads share pull's envelope: no ack, no answer; refused while the server drains. */
  const read = (event: 'sync:bootstrap' | 'sync:history' | 'sync:page', handle: (payload: unknown) => Promise<unknown>) => {
    socket.on(event, async (payload: unknown, ack: unknown) => {
      if (typeof ack !== 'function') return;
      const reply = ack as Ack<unknown>;
      if (inFlight.draining) return reply(errorBody('INTERNAL', 'the server is restarting; retry on the next connection'));
      try {
        reply(await handle(payload));
      } catch (err) {
        reply(toErrorBody(err, log, event));
      }
    });
  };

  read('sync:bootstrap', async (payload) => {
    const parsed = parseReadRequest(bootstrapRequestSchema, payload);
    if (!parsed.ok) return errorBody(parsed.code, parsed.message);
    const collection = assertCollection(parsed.value.collection);
    const result = await history.bootstrap(user, collection, parsed.value.pageSize, parsed.value.conversations);
    // As after a pull: the client will hold exactly the feed up to the head, so the stream
    // dispatcher may send the next commit's documents instead of a resync.
    socket.data.cursors[collection] = result.checkpoint?.seq ?? 0;
    return result;
  });

  read('sync:history', async (payload) => {
    const parsed = parseReadRequest(historyRequestSchema, payload);
    if (!parsed.ok) return errorBody(parsed.code, parsed.message);
    const collection = assertCollection(parsed.value.collection);
    return history.history(user, collection, parsed.value.before, parsed.value.limit);
  });

  read('sync:page', async (payload) => {
    const parsed = parseReadRequest(pageRequestSchema, payload);
    if (!parsed.ok) return errorBody(parsed.code, parsed.message);
    return history.page(user, parsed.value.conversationId, parsed.value.before, parsed.value.limit);
  });
}
