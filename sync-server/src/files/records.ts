import type { FileStatus } from '@fetchwork/shared-schema';

/** What the server knows about one uploaded file; its bytes live in FileStorage under `id`. */
export interface FileRecord {
  id: string;
  ownerId: string;
  conversationId: string;
  /** The name the uploader gave (checked by uploadMetadataSchema). */
  filename: string;
  /** The type the uploader claimed; never served. */
  declaredType: string;
  size: number;
  status: FileStatus;
  /** The type the bytes were verified to be (set when ready). */
  mimeType: string | null;
  thumbnail: boolean;
  /** The message the file is attached to; one file belongs to at most one message. */
  messageId: string | null;
  rejection: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
}

export type FileRecordPatch = Partial<Pick<FileRecord, 'status' | 'mimeType' | 'thumbnail' | 'rejection'>> & { updatedAt: string };

/**
 * The file records port. SQLite and MongoDB adapters implement it beside their SyncStore (one
 * database); test/files/records-contract.ts is their shared suite.
 */
export interface FileRecordStore {
  /** Inserts a new record; throws FileIdTakenError when the id exists. */
  create(record: FileRecord): Promise<void>;
  get(id: string): Promise<FileRecord | null>;
  update(id: string, patch: FileRecordPatch): Promise<void>;
  /**
   * Attaches a ready file to a message unless it is attached to another one; answers whether it
   * is now attached to this message (idempotent for the same message).
   */
  bind(id: string, messageId: string): Promise<boolean>;
  /** The files attached to a message. */
  byMessage(messageId: string): Promise<FileRecord[]>;
  /** Bytes the user holds in files that are uploading or ready (their quota use). */
  usedBytes(ownerId: string): Promise<number>;
  /** Records last changed before `before` that are uploading, ready but unattached, or rejected: cleanup candidates. */
  stale(before: string, limit: number): Promise<FileRecord[]>;
  /**
   * Marks a cleanup candidate deleted, atomically with respect to `bind`: only while it is still
   * unattached (or not ready) and unchanged since `before`. Answers whether it did.
   */
  expire(id: string, before: string): Promise<boolean>;
  /** Removes records (after their bytes are gone). */
  remove(ids: readonly string[]): Promise<void>;
}

export class FileIdTakenError extends Error {
  constructor(readonly id: string) {
    super(`file id ${id} is taken`);
    this.name = 'FileIdTakenError';
  }
}
