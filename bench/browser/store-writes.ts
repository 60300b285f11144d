/**
 * The bench page's record of IndexedDB readwrite transactions on one store of the replica (its
 * messages), from creation to completion, to say where a first sync's time goes: a walk whose
 * transactions follow each other without gaps is bound by IndexedDB itself, whatever the code
 * around it does. Chromium runs readwrite transactions on a store one at a time, in the order
 * they were created, so their open times add up to the store's busy time (a transaction made
 * while another runs also counts its wait: the sum can then pass the span).
 */

export interface StoreWrites {
  /** Readwrite transactions begun in the window. */
  count: number;
  /** Their time open, creation to completion, summed (ms). */
  openMs: number;
  /** From the first one's creation to the last one's completion (ms after the window's start). */
  firstStartMs: number;
  lastEndMs: number;
}

const writes: { database: string; start: number; end: number | null }[] = [];
let recording = false;

/** From now on (until `takeStoreWrites`), readwrite transactions of this page are timed. */
export function recordStoreWrites(): void {
  writes.length = 0;
  recording = true;
  const proto = IDBDatabase.prototype as unknown as { transaction: (...args: unknown[]) => IDBTransaction; __timed?: true };
  if (proto.__timed) return;
  proto.__timed = true;
  const original = proto.transaction;
  proto.transaction = function (this: IDBDatabase, ...args: unknown[]) {
    const tx = original.apply(this, args);
    if (recording && args[1] === 'readwrite') {
      const entry = { database: this.name, start: performance.now(), end: null as number | null };
      writes.push(entry);
      const done = () => {
        entry.end = performance.now();
      };
      tx.addEventListener('complete', done);
      tx.addEventListener('abort', done);
    }
    return tx;
  };
}

/** Stops recording: the readwrite transactions of databases whose name ends with `suffix`, times from `t0` (performance.now()). */
export function takeStoreWrites(t0: number, suffix: string): StoreWrites {
  recording = false;
  const mine = writes.filter((w) => w.end !== null && w.database.endsWith(suffix));
  writes.length = 0;
  if (mine.length === 0) return { count: 0, openMs: 0, firstStartMs: 0, lastEndMs: 0 };
  return {
    count: mine.length,
    openMs: mine.reduce((sum, w) => sum + (w.end! - w.start), 0),
    firstStartMs: Math.min(...mine.map((w) => w.start)) - t0,
    lastEndMs: Math.max(...mine.map((w) => w.end!)) - t0,
  };
}
