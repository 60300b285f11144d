// The store's read thread (sqlite-read-thread.ts): its own read-only connection to the store's
// file, answering the statements the store handed over by name. Plain JavaScript so the thread
// needs no TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.pragma(`busy_timeout = ${workerData.busyTimeoutMs}`);
const statements = new Map(Object.entries(workerData.statements).map(([name, sql]) => [name, db.prepare(sql)]));

// Every run of an `each` read in one transaction: one snapshot, as on the store's own connection,
// where the runs follow each other without a commit between them.
const readEach = db.transaction((statement, argLists) => argLists.flatMap((args) => statement.all(...args)));

parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  const { id, name, args, mode } = message;
  try {
    const statement = statements.get(name);
    if (!statement) throw new Error(`no statement ${name}`);
    const result = mode === 'get' ? statement.get(...args) : mode === 'each' ? readEach(statement, args) : statement.all(...args);
    parentPort.postMessage({ id, ok: true, result });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
