import type { CollectionName, DocsByCollection, HistoryResult, Wire } from '@fetchwork/shared-schema';
import type { Subscription } from 'rxjs';
import type { HistoryStore } from '../db/history-store';
import { request, ServerError } from './request';
import type { ServerDocWriter } from './server-doc-writer';
import type { SyncSocket } from './socket';

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
   * while IndexedDB writes. The cursor still advances only after a page is stored, in order.
   */
  private async walk(): Promise<void> {
    const { name, history, signal } = this.o;
    let ahead: { before: number; page: Promise<HistoryResult> } | null = null;
    while (!signal.aborted) {
      const state = await history.state(name);
      if (!state || state.before === null) return;
      try {
        const page: HistoryResult = await (ahead?.before === state.before ? ahead.page : this.fetch(state.before));
        ahead = null;
        const next: number | null = page.history?.before ?? null;
        if (next !== null) {
          ahead = { before: next, page: this.fetch(next) };
          // Seen when it is awaited; a page asked for ahead and never used must not be an unhandled rejection.
          ahead.page.catch(() => undefined);
        }
        await this.o.writer.write(page.documents as unknown as Wire<DocsByCollection[C]>[]);
        // Stopped meanwhile (a reload, leadership lost): the next run resumes from this page.
        if (signal.aborted) return;
        await history.advance(name, page.history);
      } catch (err) {
        ahead = null;
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
        await pause(this.o.retryTimeMs, signal);
      }
    }
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
