/**
 * Real replicas in this process: our client's public factory (createInbox) and stock RxDB with
 * RxDB's websocket replication (the peer), both on Dexie over fake-indexeddb in Node.
 */

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type MessageDoc, messageConflictHandler, messageRxSchema } from '@fetchwork/shared-schema';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { createRxDatabase, type RxCollection, type RxDatabase, type RxStorage } from 'rxdb';
import type { RxReplicationState } from 'rxdb/plugins/replication';
import { replicateWithWebsocketServer } from 'rxdb/plugins/replication-websocket';
import { getInboxStorage } from '../../client/src/db/dexie-storage';
import type { createInbox as CreateInbox, CreateInboxOptions, InboxHandle } from '../../client/src/inbox/create-inbox';
import { tokenFor } from './docs';

/**
 * BENCH_CLIENT_SRC=<dir>: the Node scenarios use that copy of client/src instead (to measure a
 * proposed client patch side by side; the copy must live inside the repo so packages resolve).
 */
const clientEntry = process.env.BENCH_CLIENT_SRC
  ? pathToFileURL(resolve(process.env.BENCH_CLIENT_SRC, 'inbox', 'create-inbox.ts')).href
  : '../../client/src/inbox/create-inbox.ts';
const { createInbox } = (await import(clientEntry)) as { createInbox: typeof CreateInbox };

let storage: RxStorage<any, any> | null = null;
/** One fake IndexedDB per process, like one browser profile. */
export function nodeStorage(): RxStorage<any, any> {
  storage ??= getInboxStorage({ indexedDB, IDBKeyRange });
  return storage;
}

let dbCounter = 0;
const uniqueName = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++dbCounter}`;

/** Our client as the app opens it (no dev-mode), replicating as soon as it leads. */
export async function openOursReplica(
  serverUrl: string,
  userId: string,
  name: string,
  tuning?: CreateInboxOptions['tuning'],
): Promise<InboxHandle> {
  const token = tokenFor(userId, name);
  const inbox = await createInbox({
    user: { id: userId, name },
    serverUrl,
    getToken: () => token,
    storage: nodeStorage(),
    databaseName: uniqueName('ours'),
    // One replica per "browser" here; in Chromium the bench uses the default (true).
    multiInstance: false,
    transports: ['websocket'],
    tuning,
  });
  await inbox.whenLeader();
  return inbox;
}

export interface PeerReplica {
  db: RxDatabase<{ messages: RxCollection<MessageDoc> }>;
  replication: RxReplicationState<MessageDoc, unknown>;
  close(): Promise<void>;
}

/** Stock RxDB replicating one `messages` collection through replication-websocket. */
export async function openPeerReplica(
  url: string,
  options: { batchSize?: number; beforeStart?(db: RxDatabase<{ messages: RxCollection<MessageDoc> }>): void } = {},
): Promise<PeerReplica> {
  const batchSize = options.batchSize ?? 250;
  const db = await createRxDatabase<{ messages: RxCollection<MessageDoc> }>({
    name: uniqueName('peer'),
    storage: nodeStorage(),
    multiInstance: false,
  });
  await db.addCollections({ messages: { schema: messageRxSchema, conflictHandler: messageConflictHandler } });
  options.beforeStart?.(db);
  const replication = (await replicateWithWebsocketServer({
    collection: db.messages as any,
    url,
    replicationIdentifier: `peer-${url}`,
    live: true,
    batchSize,
  })) as unknown as RxReplicationState<MessageDoc, unknown>;
  return {
    db,
    replication,
    async close() {
      await replication.cancel();
      await db.close();
    },
  };
}
