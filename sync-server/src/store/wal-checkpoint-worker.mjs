// The WAL checkpointer's thread (wal-checkpointer.ts): its own connection to the store's file,
// one passive checkpoint per request. Plain JavaScript so the thread needs no TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.path);
// A checkpoint syncs the WAL before copying and the database after, as the store's own would.
db.pragma(`synchronous = ${workerData.synchronous}`);

parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    // Commits go on meanwhile, so one round never reaches the end of the WAL: rounds go on
    // while they still find much to copy, each shorter than the last, and leave the store's own
    // connection a tail of a few pages (wal-checkpointer.ts).
    let done = 0;
    for (let round = 0; round < 8; round++) {
      const [{ checkpointed }] = db.pragma('wal_checkpoint(PASSIVE)');
      const copied = checkpointed - done;
      done = checkpointed;
      if (copied < 64) break;
    }
    parentPort.postMessage({ ok: true });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
