import { Worker } from 'node:worker_threads';
import { stopThread } from './stop-thread';

/**
 * `all`: the statement's rows; `get`: its first row; `each`: the args are a list of argument
 * lists, and the rows of every run in that order (one message for many small reads).
 */
export type ReadMode = 'all' | 'get' | 'each';

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/**
 * Runs the store's long reads on a thread of its own, with a read-only connection to the same
 * file (WAL: it reads what was committed when each statement starts, while the writer goes on).
 * A server search scans the user's whole feed (100–150 ms at 100,000 messages on the 2-core bench
 * machine) and a history page counts what is left below it (5–7 ms per page): on the event loop
 * every other user's push and stream waited behind them. One statement runs at a time, in the
 * order asked. The thread starts at the first read (or at `start`, which the server calls when it
 * starts) and is started again after a failure.
 */
export class SqliteReadThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  /**
   * @param statements SQL by name, prepared once on the thread; the store prepares the same text
   *   for its own connection, so both run the same query.
   */
  constructor(
    private readonly path: string,
    private readonly statements: Record<string, string>,
    private readonly busyTimeoutMs: number,
  ) {}

  /** What `name` answers in `mode` (see ReadMode), as better-sqlite3 returns it. */
  run<T>(name: string, args: readonly unknown[], mode: ReadMode): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.thread().postMessage({ id, name, args, mode });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.worker) await stopThread(this.worker);
  }

  /** Starts the thread now if it is not running (a read starts it anyway). */
  start(): void {
    if (!this.closed) this.thread();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./sqlite-read-worker.mjs', import.meta.url), {
      workerData: { path: this.path, statements: this.statements, busyTimeoutMs: this.busyTimeoutMs },
      env: {},
      execArgv: [],
    });
    // Idle, it keeps no process alive; a read waited for keeps its caller's promise pending only.
    worker.unref();
    worker.on('message', (answer: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const p = this.pending.get(answer.id);
      if (!p) return;
      this.pending.delete(answer.id);
      if (answer.ok) p.resolve(answer.result);
      else p.reject(new Error(answer.error ?? 'read failed'));
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the read thread stopped (exit ${code})`)));
    this.worker = worker;
    return worker;
  }
}
