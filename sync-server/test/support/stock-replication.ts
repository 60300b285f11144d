import type { StreamEvent } from '@fetchwork/shared-schema';
import type { RxCollection } from 'rxdb';
import { type RxReplicationState, replicateRxCollection } from 'rxdb/plugins/replication';
import { Subject } from 'rxjs';
import type { ClientSocket } from './test-server';

/**
 * What a client written from docs/protocol.md alone runs: RxDB's generic replication with
 * `sync:pull`, `sync:push` and `sync:stream` as its handlers, one per collection. Refused rows
 * are handed to `onRejected`; CONVERSATION_NOT_FOUND is retried (the conversation's own
 * replication may not have pushed it yet).
 */
export function replicateStock(
  db: { messages: RxCollection; conversations: RxCollection },
  socket: ClientSocket,
  identifier: string,
  onRejected: (rows: { id: string; code: string }[]) => void = () => undefined,
): RxReplicationState<any, { seq: number }>[] {
  return (['conversations', 'messages'] as const).map((collection) => {
    const stream$ = new Subject<any>();
    socket.on('sync:stream', (e: StreamEvent) => {
      if (e.collection !== collection) return;
      stream$.next('resync' in e ? 'RESYNC' : { documents: e.documents, checkpoint: e.checkpoint });
    });
    return replicateRxCollection<any, { seq: number }>({
      collection: db[collection],
      replicationIdentifier: `${identifier}-${collection}`,
      live: true,
      retryTime: 200,
      waitForLeadership: false,
      pull: {
        batchSize: 50,
        stream$: stream$.asObservable(),
        async handler(checkpoint, batchSize) {
          const res = await (socket.timeout(5000) as any).emitWithAck('sync:pull', {
            collection,
            checkpoint: checkpoint ?? null,
            batchSize,
          });
          if ('error' in res) throw new Error(res.error.code);
          return { documents: res.documents as any[], checkpoint: res.checkpoint ?? undefined };
        },
      },
      push: {
        batchSize: 50,
        async handler(rows) {
          const res = await (socket.timeout(5000) as any).emitWithAck('sync:push', { collection, rows: rows as any });
          if ('error' in res) throw new Error(res.error.code);
          if (res.rejected.some((r: { code: string }) => r.code === 'CONVERSATION_NOT_FOUND'))
            throw new Error('retry: conversation not there yet');
          onRejected(res.rejected.map((r: { id: string; code: string }) => ({ id: r.id, code: r.code })));
          return res.conflicts as any[];
        },
      },
    });
  });
}
