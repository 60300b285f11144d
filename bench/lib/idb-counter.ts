/**
 * Counts IndexedDB transactions opened in this process (fake-indexeddb), by mode. A count per
 * message does not depend on how busy the machine is, which makes it the steadiest evidence of
 * how much local storage work a replica does.
 */
import { IDBDatabase } from 'fake-indexeddb';

const counts = { readwrite: 0, readonly: 0 };
let installed = false;

export function installIdbCounter(): void {
  if (installed) return;
  installed = true;
  const proto = IDBDatabase.prototype as unknown as {
    transaction(this: unknown, stores: unknown, mode?: string, ...rest: unknown[]): unknown;
  };
  const original = proto.transaction;
  proto.transaction = function (this: unknown, stores: unknown, mode?: string, ...rest: unknown[]) {
    if (mode === 'readwrite') counts.readwrite += 1;
    else counts.readonly += 1;
    return original.call(this, stores, mode, ...rest);
  };
}

export function idbCounts(): { readwrite: number; readonly: number } {
  return { ...counts };
}
