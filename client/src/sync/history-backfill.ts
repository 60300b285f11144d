import type { CollectionName, DocsByCollection, HistoryResult, Wire } from '@fetchwork/shared-schema';
import type { Subscription } from 'rxjs';
import type { HistoryStore } from '../db/history-store';
import { request, ServerError } from './request';
import type { ServerDocWriter } from './server-doc-writer';
import type { SyncSocket } from './socket';
import type { WalkGate } from './walk-gate';

export interface HistoryBackfillOptions<C extends CollectionName> {
  name: C;
  socket: SyncSocket;
  writer: ServerDocWriter<C>;
  history: HistoryStore;
  /** Documents per `sync:history` page. */
  batchSize: number;
  ackTimeoutMs: number;
  /** Pause after a failed page before asking again (requests already wait for a connection). */
  retryTimeMs: number;
  /** Resolves once the replication runs (the writer stores through its queue). */
  started: Promise<void>;
  /** Held while the user waits for something the walk's pages would queue behind (walk-gate.ts). */
  gate?: WalkGate;
  signal: AbortSignal;
}

/**
 * Walks a collection's feed below the bootstrap's checkpoint, newest first, page by page, and
 * stores each page through the ServerDocWriter, so older copies never replace newer ones. The
 * cursor is saved after each stored page: a reload, a crash or going offline resumes there. It
 * runs in the leader tab only, beside the live replication, which it never holds up.
 */
export class HistoryBackfill<C extends CollectionName> {
  private running = false;
  private again = false;
  private readonly sub: Subscription;

  constructor(private readonly o: HistoryBackfillOptions<C>) {
    this.sub = o.history.state$(o.name).subscribe((state) => {
      if (state?.before != null) this.kick();
    });
  }

  stop(): void {
    this.sub.unsubscribe();
  }

  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      try {
        await this.o.started;
        do {
          this.again = false;
          await this.walk();
        } while (this.again && !this.o.signal.aborted);
      } finally {
        this.running = false;
      }
    })().catch(() => undefined);
  }

  /**
   * One page is asked for while the previous one is stored: the server and the network work
   * while IndexedDB writes. Each page's cursor is recorded behind it, in order, while the next
   * page is stored: the cursor's read and write were two IndexedDB round trips between the pages
   * of the walk. A crash between a page and its cursor walks that page again (the writer skips
   * what the replica holds). A cursor that moved meanwhile (another walk began) ends this one.
   */
  private async walk(): Promise<void> {
    const { name, history, signal } = this.o;
    let before = (await history.state(name))?.before ?? null;
    let ahead: { before: number; page: Promise<HistoryResult> } | null = null;
    let recorded: Promise<boolean> = Promise.resolve(true);
    let moved = false;
    let unrecorded = false;
    // After a failure: a pause, then on from the last cursor recorded (the pages after it are
    // walked again; the writer skips what the replica holds).
    const startOver = async () => {
      await pause(this.o.retryTimeMs, signal);
      unrecorded = false;
      recorded = Promise.resolve(true);
      before = (await history.state(name))?.before ?? null;
    };
    while (!signal.aborted && !moved) {
      // A cursor that could not be written.
      if (unrecorded) {
        await startOver();
        continue;
      }
      if (before === null) {
        // The walk is over once its last cursor is written (the indicator reads it).
        await recorded;
        if (unrecorded) continue;
        return;
      }
      try {
        const from: number = before;
        const page: HistoryResult = await (ahead?.before === from ? ahead.page : this.fetch(from));
        ahead = null;
        const next: number | null = page.history?.before ?? null;
        if (next !== null) {
          ahead = { before: next, page: this.fetch(next) };
          // Seen when it is awaited; a page asked for ahead and never used must not be an unhandled rejection.
          ahead.page.catch(() => undefined);
        }
        await this.o.gate?.whenOpen(signal);
        if (signal.aborted) break;
        await this.o.writer.write(page.documents as unknown as Wire<DocsByCollection[C]>[]);
        // Stopped meanwhile (a reload, leadership lost): the next run resumes from the last cursor.
        if (signal.aborted) break;
        recorded = recorded.then(async (ok) => {
          if (!ok) return false;
          try {
            if (await history.advance(name, page.history, from)) return true;
            moved = true;
          } catch {
            unrecorded = true;
          }
          return false;
        });
        before = next;
      } catch (err) {
        ahead = null;
        await recorded;
        if (signal.aborted) return;
        // The server no longer has that position (a restored backup): the live pull meets the
        // same, bootstraps again and starts a new walk.
        if (err instanceof ServerError && err.code === 'INVALID_CHECKPOINT') {
          await history.advance(name, null);
          return;
        }
        // The browser's storage is full: retrying would only fail again. The cursor stays where
        // it is (the indicator keeps saying older messages are missing) and the next start
        // tries again; live messages keep arriving while any space is left.
        if (isQuotaError(err)) return;
        await startOver();
      }
    }
    await recorded;
  }

  private fetch(before: number): Promise<HistoryResult> {
    return request(
      this.o.socket,
      'sync:history',
      { collection: this.o.name, before, limit: this.o.batchSize },
      this.o.ackTimeoutMs,
      this.o.signal,
    );
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** IndexedDB's QuotaExceededError, however many wrappers (Dexie, RxDB) stand around it. */
function isQuotaError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (/QuotaExceeded/i.test(`${(e as Error).name} ${(e as Error).message}`)) return true;
  }
  return false;
}
