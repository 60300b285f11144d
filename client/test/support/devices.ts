import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { filter, firstValueFrom, type Observable, timeout } from 'rxjs';
import { newUserId, tokenFor } from '../../../sync-server/test/support/test-server';
import { devModeKit, silenceDevModeWarnings } from '../../src/db/dev-mode';
import { getInboxStorage } from '../../src/db/dexie-storage';
import { type CreateInboxOptions, createInbox, type InboxHandle } from '../../src/inbox/create-inbox';

silenceDevModeWarnings();

/** One fake IndexedDB per process, like one browser profile: devices differ by database name. */
const storage = getInboxStorage({ indexedDB, IDBKeyRange });

export interface TestUser {
  id: string;
  name: string;
  token: string;
}

export function makeUser(name: string): TestUser {
  const id = newUserId();
  return { id, name, token: tokenFor(id, { name }) };
}

let dbCounter = 0;
const open = new Set<InboxHandle>();

export interface DeviceOptions extends Partial<CreateInboxOptions> {
  /** Same name = same replica (reopen, or a second tab). */
  databaseName?: string;
}

/** A signed-in device (or tab): its own replica in fake-indexeddb, its own socket. */
export async function openDevice(serverUrl: string, user: TestUser, options: DeviceOptions = {}): Promise<InboxHandle> {
  dbCounter += 1;
  const inbox = await createInbox({
    user: { id: user.id, name: user.name },
    serverUrl,
    getToken: () => user.token,
    storage,
    devMode: devModeKit,
    databaseName: options.databaseName ?? `device-${user.id}-${dbCounter}`,
    multiInstance: options.multiInstance ?? false,
    transports: ['websocket'],
    reconnectionDelayMs: 100,
    reconnectionDelayMaxMs: 500,
    ...options,
    tuning: { ackTimeoutMs: 5000, retryTimeMs: 300, ...options.tuning },
    // The file queue in the same fake IndexedDB ("browser profile") as the replica.
    files: options.files === null ? null : { indexedDB: { indexedDB, IDBKeyRange }, ...options.files },
  });
  open.add(inbox);
  const close = inbox.close.bind(inbox);
  inbox.close = async () => {
    open.delete(inbox);
    await close();
  };
  return inbox;
}

/** Closes every device still open (RxDB caps open collections per process). */
export async function closeAllDevices(): Promise<void> {
  await Promise.all([...open].map((i) => i.close()));
}

/** Every `sync:push` of messages this device's socket sends: the ids of its rows, in order. */
export function outgoingMessagePushes(device: InboxHandle): string[][] {
  const pushes: string[][] = [];
  device.socket.onAnyOutgoing((event: string, payload: { collection?: string; rows?: { newDocumentState: { id: string } }[] }) => {
    if (event === 'sync:push' && payload?.collection === 'messages') pushes.push((payload.rows ?? []).map((r) => r.newDocumentState.id));
  });
  return pushes;
}

/** The first value of `source` that satisfies `check`, or a timeout error naming `what`. */
export function until<T>(source: Observable<T>, check: (value: T) => boolean, what: string, ms = 15_000): Promise<T> {
  return firstValueFrom(
    source.pipe(filter(check), timeout({ first: ms, with: () => Promise.reject(new Error(`timed out waiting for ${what}`)) })),
  );
}
