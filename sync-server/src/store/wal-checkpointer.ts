import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { stopThread } from './stop-thread';

/** Told when a checkpoint on the checkpointer's thread fails (the backstop then still bounds the WAL). */
export type CheckpointFailure = (message: string) => void;

/**
 * Copies the WAL into the database file on a thread of its own. A checkpoint inside a commit
 * (SQLite's `wal_autocheckpoint`) stalled the event loop for 20–80 ms every few thousand messages
 * (copying pages and syncing the file), which was most of the server path's p99 under load
 * (docs/performance.md). Here the store asks, after a group commit, whether the WAL grew by
 * `thresholdBytes` since the last request, and the thread runs a passive checkpoint (it never
 * waits for the writer) while the event loop goes on. One request runs at a time; one asked for
 * meanwhile runs after it. The thread starts at the first request: a store that never grows its
 * WAL that far, as in most tests, never starts one.
 */
export class WalCheckpointer {
  private worker: Worker | null = null;
  private running = false;
  private again = false;
  private closed = false;
  /** A request asked for the WAL to start over after its checkpoint (see `finish`). */
  private restart = false;
  /** WAL size when the last checkpoint was asked for. */
  private base = 0;
  private lastLook = 0;
  /** Checkpoints finished so far. */
  completed = 0;

  constructor(
    private readonly path: string,
    private readonly synchronous: 'NORMAL' | 'FULL',
    private readonly thresholdBytes: number,
    /**
     * WAL size from which a checkpoint of the thread ends with `finish`, so the WAL starts over;
     * below it the next checkpoint goes on from where this one stopped.
     */
    private readonly restartBytes: number,
    /**
     * Runs on the event loop after a checkpoint of the thread when the WAL has reached
     * `restartBytes` or the request asked for it: a passive checkpoint of the store's own
     * connection, which copies only what was committed meanwhile (a few hundred pages at most)
     * and so lets the next commit start the WAL over. A checkpoint that ran beside commits never
     * gets to the end of the WAL by itself, and the WAL would only grow. It syncs the WAL and the
     * database file on the event loop (8 ms p50 at 10,000 commits/s, 1.6 ms of it copying), so
     * it does not follow every checkpoint.
     */
    private readonly finish: () => void,
    private readonly failed: CheckpointFailure,
  ) {}

  /** After a group commit: a checkpoint when the WAL grew enough (looked at most every 50 ms). */
  committed(): void {
    const now = performance.now();
    if (now - this.lastLook < 50) return;
    this.lastLook = now;
    const size = this.walBytes();
    // Smaller than at the last request: the WAL started over (and was truncated).
    const grown = size >= this.base ? size - this.base : size;
    if (grown >= this.thresholdBytes) this.request(size, false);
  }

  /**
   * A checkpoint now, or right after the one running. `restart`: the WAL starts over after it
   * whatever its size (the periodic checkpoint, which bounds how long old page versions stay in
   * the WAL: docs/risks.md §9).
   */
  request(walBytes = this.walBytes(), restart = true): void {
    if (this.closed) return;
    this.base = walBytes;
    this.restart ||= restart;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.start().postMessage('checkpoint');
  }

  async close(): Promise<void> {
    this.closed = true;
    // A checkpoint under way finishes first.
    if (this.worker) await stopThread(this.worker);
  }

  private walBytes(): number {
    return statSync(`${this.path}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./wal-checkpoint-worker.mjs', import.meta.url), {
      workerData: { path: this.path, synchronous: this.synchronous },
      env: {},
      execArgv: [],
    });
    worker.unref();
    worker.on('message', (result: { ok: boolean; error?: string }) => {
      this.running = false;
      this.completed += 1;
      if (!result.ok) this.failed(result.error ?? 'checkpoint failed');
      else if (!this.closed && (this.restart || this.walBytes() >= this.restartBytes)) {
        this.restart = false;
        this.finish();
      }
      if (this.again && !this.closed) {
        this.again = false;
        // Whether it asked for a start over is already in `restart`.
        this.request(undefined, false);
      }
    });
    worker.on('error', (err) => {
      // The thread is gone: the next request starts another; SQLite's own checkpoint meanwhile.
      this.failed(err.message);
      this.worker = null;
      this.running = false;
    });
    this.worker = worker;
    return worker;
  }
}
