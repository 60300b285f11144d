/**
 * The bench page: our client data layer (the same createInbox the app uses, default storage =
 * Dexie on this page's IndexedDB, multi-tab leader election on), a raw Dexie bulkPut of the
 * same documents, and stock RxDB replicating through replication-websocket (the peer).
 * Playwright calls window.bench.* and reads the timings measured here with performance.now().
 */
import { type MessageDoc, messageConflictHandler, messageRxSchema } from '@fetchwork/shared-schema';
import { createRxDatabase, type RxCollection } from 'rxdb';
import { replicateWithWebsocketServer } from 'rxdb/plugins/replication-websocket';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { io } from 'socket.io-client';
import { createInbox } from '../../client/src/inbox/create-inbox';
import { rawBulkPut } from '../lib/raw-dexie';
import { openStockReplica } from '../lib/stock-replica';

let lastDocs: object[] = [];
const phase = (what: string) => console.log(`[bench page] ${what}`);

const bench = {
  /**
   * Opens a fresh replica for the user and waits until it is in sync, or until `capMs` (then
   * reports how many documents were stored by then).
   */
  async ours(o: { serverUrl: string; token: string; userId: string; name: string; databaseName: string; capMs: number }) {
    const t0 = performance.now();
    const inbox = await createInbox({
      user: { id: o.userId, name: o.name },
      serverUrl: o.serverUrl,
      getToken: () => o.token,
      databaseName: o.databaseName,
    });
    // Documents stored so far, read at the cap: stopping a replication lets it finish its
    // running cycle first, so a count taken after stop() would include that.
    let stored = 0;
    const counter = inbox.database.messages.insert$.subscribe(() => {
      stored += 1;
    });
    const engine = await inbox.whenLeader();
    const leaderMs = performance.now() - t0;
    const done = await Promise.race([
      engine.awaitInSync().then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), o.capMs)),
    ]);
    const ms = performance.now() - t0;
    const atCap = stored;
    phase(`ours: ${done ? 'in sync' : 'stopped at the cap'} after ${ms.toFixed(0)} ms, ${atCap} stored`);
    counter.unsubscribe();
    await engine.stop();
    const count = done ? await inbox.database.messages.count().exec() : atCap;
    await inbox.close();
    phase('ours: closed');
    return { ms, leaderMs, count, partial: !done };
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
      if (res.error) throw new Error(res.error.code);
      for (const d of res.documents) docs.push(d);
      checkpoint = res.checkpoint;
      if (res.documents.length < 1000) break;
    }
    socket.close();
    lastDocs = docs;
    return { ms: performance.now() - t0, count: docs.length };
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
    const r = await openStockReplica({ url: o.serverUrl, token: o.token, storage: getRxStorageDexie() });
    let stored = 0;
    const counter = r.db.messages.insert$.subscribe(() => {
      stored += 1;
    });
    const done = await Promise.race([
      Promise.all(r.replications.map((x) => x.awaitInSync())).then(() => true),
      new Promise<false>((res) => setTimeout(() => res(false), o.capMs)),
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
    const db = await createRxDatabase<{ messages: RxCollection<MessageDoc> }>({ name: o.name, storage: getRxStorageDexie() });
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
