import type { Readable } from 'node:stream';
import type { DataStore } from '@tus/utils';

/**
 * Where file bytes live: the upload store tus writes through, plus reads, small derived objects
 * (thumbnails) and removal. Adapters (local disk, S3-compatible) implement only this and pass
 * one contract suite (test/files/storage-contract.ts); rules live in the file service.
 * An upload's key is its file id.
 */
export interface FileStorage {
  /** 'disk' or 's3', for /health and the logs. */
  readonly kind: string;
  /** The tus data store uploads are written through (creation, resumable PATCH, termination). */
  readonly uploads: DataStore;
  /** Up to `length` bytes from the start of a completed upload (fewer when it is shorter). */
  readHead(key: string, length: number): Promise<Buffer>;
  /** A completed upload's bytes, or the inclusive byte range [start, end]. Throws FileNotFoundError. */
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** Stores a small derived object (a thumbnail) whole, replacing any previous one. */
  put(key: string, bytes: Buffer, contentType: string): Promise<void>;
  /** A derived object's bytes. Throws FileNotFoundError. */
  get(key: string): Promise<Buffer>;
  /** Removes an upload (its bytes and tus metadata) or a derived object; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Removes incomplete uploads older than the configured expiry; answers how many. */
  deleteExpired(): Promise<number>;
  /** A cheap reachability probe for /health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class FileNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`no stored object ${key}`);
    this.name = 'FileNotFoundError';
  }
}
