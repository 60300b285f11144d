/**
 * The bench page: our client data layer (the same createInbox the app uses, default storage =
 * Dexie on this page's IndexedDB, multi-tab leader election on), a raw Dexie bulkPut of the
 * same documents, and stock RxDB replicating through replication-websocket (the peer).
 * Playwright calls window.bench.* and reads the timings measured here with performance.now().
 */
import { type MessageDoc, messageConflictHandler, messageRxSchema } from '@fetchwork/shared-schema';
import { createRxDatabase, type RxCollection } from 'rxdb';
import { replicateWithWebsocketServer } from 'rxdb/plugins/replication-websocket';
import { io } from 'socket.io-client';
import { getInboxStorage } from '../../client/src/db/dexie-storage';
import { type CreateInboxOptions, createInbox } from '../../client/src/inbox/create-inbox';
import { type FirstSyncExpectation, type FirstSyncResult, measureFirstSync } from '../lib/first-sync';
import { rawBulkPut, rawRxLayoutBulkPut } from '../lib/raw-dexie';
import { openStockReplica } from '../lib/stock-replica';
import { recordStoreWrites, type StoreWrites, takeStoreWrites } from './store-writes';
import { makeUploadFile, rawPut, tusUpload } from './uploads';

let lastDocs: object[] = [];
const phase = (what: string) => console.log(`[bench page] ${what}`);

const bench = {
  makeUploadFile,
  tusUpload,
  rawPut,
  /**
   * A new device: opens a fresh replica for the user and measures it until it is usable and
   * until its full history is stored and in sync, or until `capMs` (see lib/first-sync.ts).
   */
  async ours(o: {
    serverUrl: string;
    token: string;
    userId: string;
    name: string;
    databaseName: string;
    capMs: number;
    expected: FirstSyncExpectation;
    screen: boolean;
    tuning?: CreateInboxOptions['tuning'];
  }): Promise<FirstSyncResult & { messageWrites: StoreWrites }> {
    recordStoreWrites();
    const t0 = performance.now();
    const inbox = await createInbox({
      user: { id: o.userId, name: o.name },
      serverUrl: o.serverUrl,
      getToken: () => o.token,
      databaseName: o.databaseName,
      tuning: o.tuning,
    });
    const r = await measureFirstSync(inbox, t0, o.expected, { capMs: o.capMs, screen: o.screen });
    // RxDB's Dexie storage keeps each collection in a database of its own, named after it.
    const messageWrites = takeStoreWrites(t0, '--messages');
    phase(
      `ours: usable after ${r.usableMs?.toFixed(0) ?? '—'} ms; ${r.partial ? 'stopped at the cap' : 'full history in sync'} after ${r.ms.toFixed(0)} ms, ${r.count} stored`,
    );
    await inbox.close();
    phase('ours: closed');
    return { ...r, messageWrites };
  },

  /** The same documents over a plain socket (kept for `raw`); timed as the network floor. */
  async download(o: { serverUrl: string; token: string }) {
    const t0 = performance.now();
    const socket = io(o.serverUrl, { auth: { token: o.token }, transports: ['websocket'], forceNew: true, reconnection: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const docs: object[] = [];
    let checkpoint: unknown = null;
    for (;;) {
      const res: any = await socket.timeout(60_000).emitWithAck('sync:pull', { collection: 'messages', checkpoint, batchSize: 1000 });
      // Back-to-back pulls can exceed the socket's event rate (100/s): wait as a client would.
      if (res.error?.code === 'RATE_LIMITED') {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (res.error) throw new Error(res.error.code);
      for (const d of res.documents) docs.push(d);
      checkpoint = res.checkpoint;
      if (res.documents.length < 1000) break;
    }
    socket.close();
    lastDocs = docs;
    return { ms: performance.now() - t0, count: docs.length };
  },

  /** Diagnostic: the same bulkPut into RxDB's table layout (call before `raw`, which forgets the documents). */
  async rawRxLayout(o: { name: string }) {
    return rawRxLayoutBulkPut(lastDocs, { name: o.name });
  },

  /** Raw Dexie bulkPut of the documents `download` fetched. */
  async raw(o: { name: string }) {
    const r = await rawBulkPut(lastDocs, { name: o.name });
    lastDocs = [];
    return r;
  },

  /** Diagnostic: stock RxDB replicateRxCollection speaking our protocol (no outbox, no receipts). */
  async stock(o: { serverUrl: string; token: string; capMs: number }) {
    const t0 = performance.now();
    // Not awaiting the first sync in the open: the cap has to cover it. No document can arrive
    // before the counter below subscribes (the first pull is a round trip away).
    const r = await openStockReplica({ url: o.serverUrl, token: o.token, storage: getInboxStorage(), awaitInitial: false });
    let stored = 0;
    const counter = r.db.messages.insert$.subscribe(() => {
      stored += 1;
    });
    const done = await Promise.race([
      Promise.all(r.replications.map((x) => x.awaitInSync())).then(() => true),
      new Promise<false>((res) => setTimeout(() => res(false), Math.max(0, o.capMs - (performance.now() - t0)))),
    ]);
    const ms = performance.now() - t0;
    const atCap = stored;
    counter.unsubscribe();
    await Promise.all(r.replications.map((x) => x.cancel()));
    const count = done ? await r.db.messages.count().exec() : atCap;
    await r.close();
    return { ms, count, partial: !done };
  },

  /** Stock RxDB (Dexie storage) replicating one collection through RxDB's websocket server. */
  async peer(o: { url: string; name: string; capMs: number }) {
    const t0 = performance.now();
    const db = await createRxDatabase<{ messages: RxCollection<MessageDoc> }>({ name: o.name, storage: getInboxStorage() });
    await db.addCollections({ messages: { schema: messageRxSchema, conflictHandler: messageConflictHandler } });
    let stored = 0;
    const counter = db.messages.insert$.subscribe(() => {
      stored += 1;
    });
    const replication = await replicateWithWebsocketServer({
      collection: db.messages as any,
      url: o.url,
      replicationIdentifier: `peer-${o.url}`,
      live: true,
      batchSize: 250,
    });
    const done = await Promise.race([
      replication.awaitInSync().then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), o.capMs)),
    ]);
    const ms = performance.now() - t0;
    const atCap = stored;
    counter.unsubscribe();
    await replication.cancel();
    const count = done ? await db.messages.count().exec() : atCap;
    await db.close();
    return { ms, count, partial: !done };
  },
};

(window as unknown as { bench: typeof bench; benchReady: boolean }).bench = bench;
(window as unknown as { benchReady: boolean }).benchReady = true;
