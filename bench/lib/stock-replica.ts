/**
 * Stock RxDB (replicateRxCollection, no outbox, no automatic receipts) speaking our protocol, as
 * in sync-server/test/rxdb-replication.test.ts: a diagnostic that separates the cost of the
 * protocol and server from the cost of our client's extra work.
 */
import {
  type ConversationDoc,
  conversationConflictHandler,
  conversationRxSchema,
  type MessageDoc,
  messageConflictHandler,
  messageRxSchema,
} from '@fetchwork/shared-schema';
import { createRxDatabase, type RxCollection, type RxDatabase, type RxStorage } from 'rxdb';
import { type RxReplicationState, replicateRxCollection } from 'rxdb/plugins/replication';
import { Subject } from 'rxjs';
import { io, type Socket } from 'socket.io-client';

type Collections = { messages: RxCollection<MessageDoc>; conversations: RxCollection<ConversationDoc> };

export interface StockReplica {
  db: RxDatabase<Collections>;
  socket: Socket;
  replications: RxReplicationState<any, any>[];
  close(): Promise<void>;
}

let n = 0;
/** Runs in Node and in the bench page: pass the storage and a token for the user. */
export async function openStockReplica(options: {
  url: string;
  token: string;
  storage: RxStorage<any, any>;
  batchSize?: number;
  /** Default true: resolve once the first sync is done. False: at once (a caller that caps it). */
  awaitInitial?: boolean;
}): Promise<StockReplica> {
  const { url, token, storage } = options;
  const batchSize = options.batchSize ?? 250;
  const db = await createRxDatabase<Collections>({ name: `stock-${++n}-${Date.now().toString(36)}`, storage, multiInstance: false });
  await db.addCollections({
    messages: { schema: messageRxSchema, conflictHandler: messageConflictHandler },
    conversations: { schema: conversationRxSchema, conflictHandler: conversationConflictHandler },
  });
  const socket = io(url, { auth: { token }, transports: ['websocket'], forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const replications = (['conversations', 'messages'] as const).map((collection) => {
    const stream$ = new Subject<any>();
    socket.on('sync:stream', (e: any) => {
      if (e.collection !== collection) return;
      stream$.next(e.resync ? 'RESYNC' : { documents: e.documents, checkpoint: e.checkpoint });
    });
    return replicateRxCollection<any, { seq: number }>({
      collection: db[collection],
      replicationIdentifier: `stock-${collection}-${url}`,
      live: true,
      retryTime: 500,
      waitForLeadership: false,
      pull: {
        batchSize,
        stream$: stream$.asObservable(),
        async handler(checkpoint, size) {
          const res: any = await socket
            .timeout(15_000)
            .emitWithAck('sync:pull', { collection, checkpoint: checkpoint ?? null, batchSize: size });
          if (res.error) throw new Error(res.error.code);
          return { documents: res.documents, checkpoint: res.checkpoint ?? undefined };
        },
      },
      push: {
        batchSize: 50,
        async handler(rows) {
          const res: any = await socket.timeout(15_000).emitWithAck('sync:push', { collection, rows });
          if (res.error) throw new Error(res.error.code);
          if (res.rejected.some((r: { code: string }) => r.code === 'CONVERSATION_NOT_FOUND')) throw new Error('retry');
          return res.conflicts;
        },
      },
    });
  });
  if (options.awaitInitial !== false) await Promise.all(replications.map((r) => r.awaitInitialReplication()));
  return {
    db,
    socket,
    replications,
    async close() {
      await Promise.all(replications.map((r) => r.cancel()));
      await db.close();
      socket.close();
    },
  };
}
