import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { OUTBOX_MIRROR_SUFFIX } from '../db/replica-name';

/**
 * The service worker's copy of the user's unsent text messages, for background send
 * (docs/client.md "Background send"). The replica is RxDB's, and the service worker must not open
 * it: a second RxDB instance would take part in neither the tabs' leader election nor their
 * migrations. So the tab that writes a message also writes this small database of its own
 * (plain IndexedDB through `idb`, next to the replica: `<replica>-outbox`); the leader tab
 * removes an entry once the replica says the server has the message, and the service worker
 * removes one it sent. Only what the REST send needs is kept; file messages never enter it
 * (they need their uploads, which only the app does).
 */

/** The Background Sync tag pages register and the service worker drains on. */
export const OUTBOX_SYNC_TAG = 'fetchwork-outbox';

export function outboxMirrorNameFor(replicaName: string): string {
  return `${replicaName}${OUTBOX_MIRROR_SUFFIX}`;
}

/** Whether an IndexedDB database is a mirror (the worker finds them with `indexedDB.databases()`). */
export function isOutboxMirrorName(name: string, replicaPrefix: string): boolean {
  return name.startsWith(replicaPrefix) && name.endsWith(OUTBOX_MIRROR_SUFFIX);
}

export interface MirroredMessage {
  /** The message's own id: the server stores a retried id once, so page and worker may both send it. */
  id: string;
  conversationId: string;
  /** The other participant and the job: enough to create the conversation when the server does not have it yet. */
  participantId: string;
  jobId: string | null;
  content: string;
  messageType: 'text';
  /** Local creation time: the send order within a conversation. */
  createdAt: string;
}

interface MirrorSchema extends DBSchema {
  messages: { key: string; value: MirroredMessage; indexes: { createdAt: string } };
  /** 'device-key': the page's half of the session, which a refresh must send (the worker cannot read localStorage). */
  meta: { key: string; value: string };
}

export interface OutboxMirror {
  put(message: MirroredMessage): Promise<void>;
  /** Changes the text of an entry that is still there (an edit before the message went out). */
  updateContent(id: string, content: string): Promise<void>;
  remove(ids: readonly string[]): Promise<void>;
  /** Every entry, oldest first. */
  all(): Promise<MirroredMessage[]>;
  /** The session's device key for the worker's refresh; null forgets it. */
  setDeviceKey(deviceKey: string | null): Promise<void>;
  deviceKey(): Promise<string | null>;
  close(): void;
}

export async function openOutboxMirror(name: string): Promise<OutboxMirror> {
  let db: IDBPDatabase<MirrorSchema> | null = null;
  db = await openDB<MirrorSchema>(name, 1, {
    upgrade(database) {
      const store = database.createObjectStore('messages', { keyPath: 'id' });
      store.createIndex('createdAt', 'createdAt');
      database.createObjectStore('meta');
    },
    // Sign-out deletes this database (device-data.ts): an open connection must not block it.
    blocking() {
      db?.close();
    },
  });
  const open = db;
  return {
    async put(message) {
      await open.put('messages', message);
    },
    async updateContent(id, content) {
      const tx = open.transaction('messages', 'readwrite');
      const found = await tx.store.get(id);
      if (found && found.content !== content) await tx.store.put({ ...found, content });
      await tx.done;
    },
    async remove(ids) {
      if (ids.length === 0) return;
      const tx = open.transaction('messages', 'readwrite');
      await Promise.all([...ids.map((id) => tx.store.delete(id)), tx.done]);
    },
    all() {
      return open.getAllFromIndex('messages', 'createdAt');
    },
    async setDeviceKey(deviceKey) {
      if (deviceKey) await open.put('meta', deviceKey, 'device-key');
      else await open.delete('meta', 'device-key');
    },
    async deviceKey() {
      return (await open.get('meta', 'device-key')) ?? null;
    },
    close() {
      open.close();
    },
  };
}

/** Entries grouped by conversation, each group in creation order: the order the REST send keeps. */
export function byConversation(messages: readonly MirroredMessage[]): MirroredMessage[][] {
  const groups = new Map<string, MirroredMessage[]>();
  const sorted = [...messages].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  for (const m of sorted) {
    const group = groups.get(m.conversationId);
    if (group) group.push(m);
    else groups.set(m.conversationId, [m]);
  }
  return [...groups.values()];
}
