import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { finished, type Readable, Transform } from 'node:stream';
import { FileConfigstore, FileStore } from '@tus/file-store';
import { ERRORS, isPathInsideDirectory, type KvStore, Upload } from '@tus/utils';

/**
 * Bytes of an upload body gathered before one write to disk. The HTTP parser hands the body over
 * in ~64 KiB pieces and FileStore writes each as it comes; on loopback a 20 MB PATCH took 1.37×
 * the time of the same bytes streamed straight to a file (`npm run bench -- --only=files`), most
 * of it in per-piece writes. Bounded so that an upload cut mid-way loses at most this much of what
 * had arrived (the client resumes from the offset on disk and sends it again).
 */
export const UPLOAD_WRITE_BYTES = 1024 * 1024;

/** How many uploads' metadata stay in memory (an upload in progress is read on every PATCH and HEAD). */
const INFO_CACHE = 1_000;

/**
 * FileStore with two costs of the PATCH path removed: an upload's metadata comes from memory
 * after its creation (FileStore reads the `.json` and stats the file on every request; the file's
 * size is still read from disk, as the offset must be), and the body is written in pieces of
 * UPLOAD_WRITE_BYTES. Everything else, including the protocol, is FileStore's.
 */
export class DiskUploads extends FileStore {
  constructor(
    private readonly root: string,
    private readonly infos: UploadInfoStore,
    expirationPeriodInMilliseconds: number,
  ) {
    super({ directory: root, configstore: infos, expirationPeriodInMilliseconds });
  }

  override async getUpload(id: string): Promise<Upload> {
    const info = await this.infos.info(id);
    if (!info) throw ERRORS.FILE_NOT_FOUND;
    const file = path.join(this.root, id);
    if (!isPathInsideDirectory(this.root, file)) throw ERRORS.FILE_NOT_FOUND;
    const bytes = await stat(file).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? ERRORS.FILE_NO_LONGER_EXISTS : error;
    });
    if (bytes.isDirectory()) throw ERRORS.FILE_NOT_FOUND;
    return new Upload({
      id,
      size: info.size,
      offset: bytes.size,
      metadata: info.metadata,
      creation_date: info.creation_date,
      storage: { type: 'file', path: file },
    });
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    const pieces = coalesce(UPLOAD_WRITE_BYTES);
    // A body that fails part-way (a cut connection, the size limit) still has what arrived written,
    // so the client resumes after it; FileStore alone would drop the pieces queued for the disk.
    let failure: unknown = null;
    finished(readable, (error) => {
      if (!error) return;
      failure = error;
      readable.unpipe(pieces);
      pieces.end();
    });
    readable.pipe(pieces);
    const written = await super.write(pieces, id, offset);
    if (failure) throw ERRORS.FILE_WRITE_ERROR;
    return written;
  }
}

/**
 * FileStore's constructor creates its directory asynchronously and throws out of band when that
 * fails (a `private` method, hence set here rather than overridden): a directory removed
 * meanwhile, as when a server is stopped and its data deleted right after it started (the client
 * tests' restartable server), crashed the process. createDiskStorage creates it synchronously
 * before constructing this, where a failure is an ordinary startup error.
 */
Object.defineProperty(DiskUploads.prototype, 'checkOrCreateDirectory', { value: () => {} });

/** Gathers a byte stream into pieces of at least `bytes` (the last one shorter). */
function coalesce(bytes: number): Transform {
  let held: Buffer[] = [];
  let size = 0;
  const take = () => {
    const piece = held.length === 1 ? held[0]! : Buffer.concat(held, size);
    held = [];
    size = 0;
    return piece;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      held.push(chunk);
      size += chunk.length;
      done(null, size >= bytes ? take() : undefined);
    },
    flush(done) {
      done(null, size > 0 ? take() : undefined);
    },
  });
}

/**
 * The tus `.json` metadata of each upload, as FileStore keeps it, with two corrections FileStore.deleteExpired
 * depends on: the stored `offset` is the one from creation (0) and is never updated by writes, so `get` reports the
 * bytes actually on disk (otherwise every completed upload counts as incomplete and expires); and `list` pairs
 * `<id>` with `<id>.json` exactly instead of relying on the two being adjacent after a locale sort.
 * The metadata of recent uploads is kept in memory; it changes only through `set` and `delete`.
 */
export class UploadInfoStore implements KvStore<Upload> {
  private readonly files: FileConfigstore;
  private readonly cache = new Map<string, Upload>();

  constructor(private readonly directory: string) {
    this.files = new FileConfigstore(directory);
  }

  /** The upload's metadata as stored (offset not read from disk). */
  async info(id: string): Promise<Upload | undefined> {
    const cached = this.cache.get(id);
    if (cached) return cached;
    const info = await this.files.get(id);
    if (info) this.remember(id, info);
    return info;
  }

  async get(id: string): Promise<Upload | undefined> {
    const info = await this.info(id);
    if (!info) return undefined;
    const bytes = await stat(path.join(this.directory, id)).catch(() => undefined);
    return bytes?.isFile() ? new Upload({ ...info, offset: bytes.size }) : info;
  }

  async set(id: string, upload: Upload): Promise<void> {
    this.cache.delete(id);
    await this.files.set(id, upload);
    this.remember(id, JSON.parse(JSON.stringify(upload)) as Upload);
  }

  async delete(id: string): Promise<void> {
    this.forget(id);
    await this.files.delete(id);
  }

  /** For removals that bypass `delete` (the storage removes the `.json` with the bytes). */
  forget(id: string): void {
    this.cache.delete(id);
  }

  async list(): Promise<string[]> {
    const names = new Set(await readdir(this.directory));
    return [...names].filter((name) => name.endsWith('.json') && names.has(name.slice(0, -5))).map((name) => name.slice(0, -5));
  }

  private remember(id: string, info: Upload): void {
    if (this.cache.size >= INFO_CACHE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, info);
  }
}
