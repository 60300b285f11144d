import type { CollectionName, DocsByCollection, PushResult, Wire } from '@fetchwork/shared-schema';
import { deepEqual } from 'rxdb/plugins/utils';

type Doc<C extends CollectionName> = Wire<DocsByCollection[C]>;

/** A row as the push handler sees it (collection-sync.ts). */
interface Row<T> {
  assumedMasterState?: unknown;
  newDocumentState: T;
}

interface Entry<C extends CollectionName> {
  doc: Doc<C>;
  answer: Promise<PushResult>;
  /** Lets the stream buffer hand batches to RxDB again. */
  unblock: () => void;
  timer: ReturnType<typeof setTimeout>;
}

export interface SendAheadOptions<C extends CollectionName> {
  /** Sends one creation row to the server; resolves with the server's answer. */
  send(doc: Doc<C>): Promise<PushResult>;
  /** Holds streamed batches back until the returned function is called. */
  blockStream(): () => void;
  /** The server acknowledged the documents (the sent tick). */
  accepted(ids: string[]): void;
  /** After this long an entry RxDB's upstream did not take is forgotten (its write failed, or never came). */
  expiryMs: number;
}

/**
 * A new message pushed as it is written, before it is stored locally and before RxDB's upstream
 * notices it (docs/client.md, "Send-ahead"). Storing it in IndexedDB and rendering it took the
 * sender's page 30–40 ms in Chromium before the push left; the push now leaves in the same task
 * as the Enter key. RxDB's upstream still runs for it: its push handler `take`s the rows sent
 * ahead (the same document, still a creation) and uses their answer instead of sending them
 * again, so the server receives each message once and RxDB's bookkeeping is its usual one.
 *
 * Until the upstream has taken an entry, streamed batches wait: the server's copy of the message
 * must reach RxDB after the local write and its push, as it does for any push, or RxDB's insert
 * would meet the server's copy and fail.
 */
export class SendAhead<C extends CollectionName> {
  private readonly entries = new Map<string, Entry<C>>();

  constructor(private readonly o: SendAheadOptions<C>) {}

  /** Entries sent and not yet taken. */
  get pending(): number {
    return this.entries.size;
  }

  /** Sends `doc` now; `stored` is its local write (an entry whose write fails is dropped). */
  send(doc: Doc<C>, stored: Promise<unknown>): void {
    if (this.entries.has(doc.id)) return;
    const answer = this.o.send(doc);
    const entry: Entry<C> = {
      doc,
      answer,
      unblock: this.o.blockStream(),
      timer: setTimeout(() => this.forget(doc.id), this.o.expiryMs),
    };
    this.entries.set(doc.id, entry);
    // Told as the answer arrives, usually before the local write ends: the message is on screen
    // already (inbox/arrivals.ts), and its tick turns sent then.
    answer.then(
      (result) => {
        if (isStored(result, doc.id)) this.o.accepted([doc.id]);
      },
      () => undefined,
    );
    stored.catch(() => this.forget(doc.id));
  }

  /**
   * Splits a push batch: rows sent ahead exactly as they are now (still creations) come with the
   * answer of their push; the rest go out as usual. A row of an entry that changed since (edited
   * at once) ends the entry and goes out as usual; the server answers it as a conflict with the
   * copy sent ahead, which the conflict handler merges.
   */
  take<R extends Row<Doc<C>>>(rows: R[]): { ahead: { row: R; answer: Promise<PushResult> }[]; rest: R[] } {
    const ahead: { row: R; answer: Promise<PushResult> }[] = [];
    const rest: R[] = [];
    for (const row of rows) {
      const entry = this.entries.get(row.newDocumentState.id);
      if (entry) this.forget(row.newDocumentState.id);
      if (entry && row.assumedMasterState == null && deepEqual(entry.doc, row.newDocumentState)) ahead.push({ row, answer: entry.answer });
      else rest.push(row);
    }
    return { ahead, rest };
  }

  /** Drops every entry (the replication stops). */
  clear(): void {
    for (const id of [...this.entries.keys()]) this.forget(id);
  }

  private forget(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    clearTimeout(entry.timer);
    entry.unblock();
  }
}

function isStored(result: PushResult, id: string): boolean {
  return !result.rejected.some((r) => r.id === id || r.id === null) && !result.conflicts.some((c) => c.id === id);
}
