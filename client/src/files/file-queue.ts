import type { Attachment } from '@fetchwork/shared-schema';
import { Dexie, type Table } from 'dexie';
import { catchError, EMPTY, from, map, type Observable, Subject, startWith, switchMap } from 'rxjs';

export type QueuedFileState = 'queued' | 'uploading' | 'done' | 'failed' | 'cancelled';

export interface FileFailure {
  code: string;
  message: string;
}

/** One file of an unsent message, with its bytes, until the message carries the server's attachment. */
export interface QueuedFile {
  fileId: string;
  messageId: string;
  conversation: string;
  blob: Blob;
  filename: string;
  /** The type claimed at upload; the server answers with the type it verified. */
  type: string;
  size: number;
  /** Position among its message's files: they upload in this order. */
  index: number;
  queuedAt: string;
  state: QueuedFileState;
  /** The tus upload's url once created: a reload resumes there (HEAD offset) instead of from zero. */
  uploadUrl: string | null;
  bytesSent: number;
  /** The server's `FileInfo.attachment`, once the file is complete and checked. */
  attachment: Attachment | null;
  error: FileFailure | null;
  /** Transient failures in a row, for the backoff. */
  attempts: number;
  /** Epoch ms before which a transient failure is not retried. */
  retryAt: number;
}

/** What the UI shows of a queued file (no bytes). */
export type QueuedFileView = Omit<QueuedFile, 'blob'>;

interface CachedPreview {
  fileId: string;
  /** Null: the server answered that the file has no preview (it makes one only at upload). */
  blob: Blob | null;
  at: number;
}

interface MetaRow {
  key: string;
  value: unknown;
}

/** Enough previews for the conversations a user scrolls through; the oldest go first. */
const PREVIEWS_KEPT = 400;

export interface IndexedDbDeps {
  indexedDB: IDBFactory;
  IDBKeyRange: typeof IDBKeyRange;
}

class FileQueueDatabase extends Dexie {
  files!: Table<QueuedFile, string>;
  previews!: Table<CachedPreview, string>;
  meta!: Table<MetaRow, string>;

  constructor(name: string, deps?: IndexedDbDeps) {
    super(name, deps ? { indexedDB: deps.indexedDB, IDBKeyRange: deps.IDBKeyRange } : undefined);
    this.version(1).stores({ files: 'fileId, messageId', previews: 'fileId, at', meta: 'key' });
  }
}

/**
 * Queued file bytes and cached previews, in a small IndexedDB database of their own next to the
 * replica: bytes never go into RxDB documents (every document write, query and replication
 * frame would carry them) nor into socket frames. Shared by the browser's tabs: every write
 * is announced on a BroadcastChannel, which is how the uploading tab learns of a cancel and the
 * others of progress. (Not Dexie's liveQuery: it only runs on the page's global IndexedDB,
 * and tests, like the replica, give the database its own.)
 */
export class FileQueue {
  private readonly db: FileQueueDatabase;
  private readonly changes = new Subject<void>();
  private readonly channel: BroadcastChannel | null;

  constructor(name: string, deps?: IndexedDbDeps) {
    this.db = new FileQueueDatabase(name, deps);
    this.channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(`fetchwork-files|${name}`);
    this.channel?.addEventListener('message', () => this.changes.next());
  }

  private changed(): void {
    this.changes.next();
    this.channel?.postMessage(null);
  }

  async add(files: readonly QueuedFile[]): Promise<void> {
    await this.db.files.bulkAdd([...files]);
    this.changed();
  }

  get(fileId: string): Promise<QueuedFile | undefined> {
    return this.db.files.get(fileId);
  }

  async getMany(fileIds: readonly string[]): Promise<Map<string, QueuedFile>> {
    const rows = await this.db.files.bulkGet([...fileIds]);
    return new Map(rows.flatMap((r) => (r ? [[r.fileId, r] as const] : [])));
  }

  ofMessage(messageId: string): Promise<QueuedFile[]> {
    return this.db.files.where('messageId').equals(messageId).sortBy('index');
  }

  /** Every file, in upload order: by message (oldest first), then position. */
  async all(): Promise<QueuedFile[]> {
    const rows = await this.db.files.toArray();
    return rows.sort((a, b) => (a.queuedAt === b.queuedAt ? a.index - b.index : a.queuedAt < b.queuedAt ? -1 : 1));
  }

  /** Changes a file unless it was removed meanwhile (returns whether it exists). */
  async update(fileId: string, changes: Partial<Omit<QueuedFile, 'fileId'>>): Promise<boolean> {
    const updated = (await this.db.files.update(fileId, changes)) > 0;
    if (updated) this.changed();
    return updated;
  }

  /**
   * Changes a file only while `allowed` holds for it, in one transaction: a cancel from another
   * tab must not be overwritten by the uploader's progress or outcome.
   */
  async updateIf(fileId: string, allowed: (f: QueuedFile) => boolean, changes: Partial<Omit<QueuedFile, 'fileId'>>): Promise<boolean> {
    const updated = await this.db.transaction('rw', this.db.files, async () => {
      const current = await this.db.files.get(fileId);
      if (!current || !allowed(current)) return false;
      await this.db.files.update(fileId, changes);
      return true;
    });
    if (updated) this.changed();
    return updated;
  }

  async remove(fileIds: readonly string[]): Promise<void> {
    if (fileIds.length === 0) return;
    await this.db.files.bulkDelete([...fileIds]);
    this.changed();
  }

  /** Every file without its bytes, read again after every change in any tab. */
  views$(): Observable<QueuedFileView[]> {
    return this.changes.pipe(
      startWith(undefined),
      // A failed read (the database closing) skips one answer; the next change reads again.
      switchMap(() => from(this.all()).pipe(catchError(() => EMPTY))),
      map((files) => files.map(({ blob: _blob, ...view }) => view)),
    );
  }

  /** The cached preview; null when the file is known to have none; undefined when never asked. */
  async preview(fileId: string): Promise<Blob | null | undefined> {
    return (await this.db.previews.get(fileId))?.blob;
  }

  async putPreview(fileId: string, blob: Blob | null): Promise<void> {
    await this.db.previews.put({ fileId, blob, at: Date.now() });
    const count = await this.db.previews.count();
    if (count > PREVIEWS_KEPT) {
      const oldest = await this.db.previews
        .orderBy('at')
        .limit(count - PREVIEWS_KEPT)
        .primaryKeys();
      await this.db.previews.bulkDelete(oldest);
    }
  }

  async getMeta<T>(key: string): Promise<T | null> {
    return ((await this.db.meta.get(key))?.value as T | undefined) ?? null;
  }

  async setMeta(key: string, value: unknown): Promise<void> {
    await this.db.meta.put({ key, value });
  }

  close(): void {
    this.channel?.close();
    this.changes.complete();
    this.db.close();
  }
}

/** The file queue that belongs to a replica (same name: same device, same tabs). */
export function fileQueueNameFor(databaseName: string): string {
  return `${databaseName}-files`;
}
