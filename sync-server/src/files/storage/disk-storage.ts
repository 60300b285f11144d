import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, mkdirSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { buffer as collect } from 'node:stream/consumers';
import { isPathInsideDirectory } from '@tus/utils';
import { DiskUploads, UploadInfoStore } from './disk-uploads';
import { FileNotFoundError, type FileStorage } from './port';

export interface DiskStorageOptions {
  directory: string;
  /** Incomplete uploads older than this are removed by deleteExpired; 0 keeps them forever. */
  uploadExpiryMs: number;
}

/** Thumbnails and other derived objects live here, apart from the tus uploads and their `.json` files. */
const DERIVED = 'derived';

export function createDiskStorage({ directory, uploadExpiryMs }: DiskStorageOptions): FileStorage {
  const root = path.resolve(directory);
  const derivedRoot = path.join(root, DERIVED);
  // FileStore creates its directory in a callback that throws out of band; creating it here fails at startup instead.
  mkdirSync(derivedRoot, { recursive: true });
  const infos = new UploadInfoStore(root);
  const store = new DiskUploads(root, infos, uploadExpiryMs);

  const uploadPath = (key: string): string => {
    if (key === DERIVED || key.startsWith(`${DERIVED}/`)) throw new FileNotFoundError(key);
    return inside(root, key);
  };

  async function open(key: string, range?: { start: number; end: number }): Promise<Readable> {
    if (range) checkRange(range);
    const file = uploadPath(key);
    const upload = await store.getUpload(key).catch((error) => {
      throw isTusMissing(error) ? new FileNotFoundError(key) : error;
    });
    // Only a finished upload is a stored object, as on S3 where the bytes appear when the multipart upload completes.
    if (upload.size === undefined || upload.offset !== upload.size) throw new FileNotFoundError(key);
    const stream = createReadStream(file, range);
    // Opened before returning, so a file removed meanwhile is a FileNotFoundError here rather than a stream error later.
    await once(stream, 'open').catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new FileNotFoundError(key) : error;
    });
    return stream;
  }

  return {
    kind: 'disk',
    uploads: store,
    async readHead(key, length) {
      // At least one byte is asked for, so an empty range never reaches the stream.
      const head = await collect(await open(key, { start: 0, end: Math.max(length, 1) - 1 }));
      return head.subarray(0, Math.max(length, 0));
    },
    read: open,
    async put(key, bytes) {
      const file = inside(derivedRoot, key);
      await mkdir(path.dirname(file), { recursive: true });
      // Written aside then renamed, so a reader never sees half a thumbnail.
      const temp = `${file}.${randomUUID()}.tmp`;
      await writeFile(temp, bytes);
      await rename(temp, file);
    },
    async get(key) {
      try {
        return await readFile(inside(derivedRoot, key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FileNotFoundError(key);
        throw error;
      }
    },
    async delete(key) {
      // A key that cannot name an upload (or a derived object) has nothing stored under it to remove.
      const upload = orNothing(() => uploadPath(key));
      const derived = orNothing(() => inside(derivedRoot, key));
      const targets = [upload, upload && `${upload}.json`, derived].filter((target) => target !== undefined);
      await Promise.all(targets.map((target) => rm(target, { force: true })));
      if (upload) infos.forget(key);
    },
    deleteExpired: () => store.deleteExpired(),
    async ping() {
      // Writing proves more than access(W_OK): a read-only remount or a full disk fail here too.
      const probe = path.join(derivedRoot, `.ping-${randomUUID()}`);
      await writeFile(probe, '');
      await rm(probe, { force: true });
    },
    async close() {},
  };
}

function inside(root: string, key: string): string {
  const file = path.join(root, key);
  if (!isPathInsideDirectory(root, file)) throw new FileNotFoundError(key);
  return file;
}

function orNothing(resolve: () => string): string | undefined {
  try {
    return resolve();
  } catch (error) {
    if (error instanceof FileNotFoundError) return undefined;
    throw error;
  }
}

/** FileStore reports a missing upload as tus's 404 or 410 error object, not as an Error. */
function isTusMissing(error: unknown): boolean {
  const status = (error as { status_code?: unknown } | null)?.status_code;
  return status === 404 || status === 410;
}

function checkRange({ start, end }: { start: number; end: number }): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`bad byte range ${start}-${end}`);
  }
}
