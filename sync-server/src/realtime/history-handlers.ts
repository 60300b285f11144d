import { type Ack, bootstrapRequestSchema, errorBody, historyRequestSchema, pageRequestSchema } from '@fetchwork/shared-schema';
import type { Logger } from '../logger';
import type { HistoryService } from '../sync/history-service';
import { assertCollection } from '../sync/sync-service';
import type { InFlight } from './in-flight';
import { beginRead, sendResync } from './read-position';
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
  /**
   * Reads share pull's envelope: no ack, no answer; refused while the server drains. `afterReply`
   * runs once the answer is written (a resync that must follow it: read-position.ts).
   */
  const read = (
    event: ReadEvent,
    handle: (socket: SyncSocket, payload: unknown, afterReply: (fn: () => void) => void) => Promise<unknown>,
  ): SharedHandler =>
    async function (this: SyncSocket, payload: unknown, ack?: unknown) {
      if (typeof ack !== 'function') return;
      const reply = ack as Ack<unknown>;
      if (inFlight.draining) return reply(drainingBody());
      const after: (() => void)[] = [];
      try {
        reply(await handle(this, payload, (fn) => after.push(fn)));
      } catch (err) {
        reply(toErrorBody(err, log, event));
      }
      for (const fn of after) fn();
    };

  return {
    events: {
      'sync:bootstrap': read('sync:bootstrap', async (socket, payload, afterReply) => {
        const parsed = parseReadRequest(bootstrapRequestSchema, payload);
        if (!parsed.ok) return errorBody(parsed.code, parsed.message);
        const collection = assertCollection(parsed.value.collection);
        const read = beginRead(socket, collection);
        const result = await history.bootstrap(socket.data.user, collection, parsed.value.pageSize, parsed.value.conversations);
        // As after a pull: the client will hold exactly the feed up to the head, so the stream
        // dispatcher may send the next commit's documents instead of a resync.
        if (read.settle(result.checkpoint?.seq ?? 0)) afterReply(() => sendResync(socket, collection));
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
