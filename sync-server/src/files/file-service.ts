import type { Readable } from 'node:stream';
import {
  type Attachment,
  type ErrorCode,
  FILE_ROUTES,
  type FileInfo,
  type FileLimits,
  type FileLink,
  fileIdOfAttachmentUrl,
  LIMITS,
  type MessageDoc,
  PREVIEWABLE_IMAGE_TYPES,
  parseInput,
  uploadMetadataSchema,
} from '@fetchwork/shared-schema';
import type { AuthUser } from '../auth/tokens';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { SyncStore } from '../store/port';
import { isAllowedDeclaredType, verifyFileType } from './file-types';
import { FileIdTakenError, type FileRecord, type FileRecordStore } from './records';
import type { FileScanner } from './scanner';
import type { LinkSigner } from './signed-links';
import { FileNotFoundError, type FileStorage } from './storage/port';
import { canHaveThumbnail, makeThumbnail } from './thumbnails';

export interface FilePolicy {
  maxFileBytes: number;
  maxMessageBytes: number;
  quotaBytes: number;
  allowedTypes: readonly string[];
  /** How long a download link works. */
  linkTtlSeconds: number;
  /** Incomplete uploads and files never attached to a message are removed after this. */
  unattachedTtlMs: number;
  /** Origins whose links an attachment may carry as metadata only (legacy FetchWork uploads). */
  externalLinkOrigins: readonly string[];
  /** When the scanner fails: refuse the file (`required`) or accept it unscanned (`best-effort`). */
  scanFailure: 'refuse' | 'accept';
}

export interface FileServiceDeps {
  store: SyncStore;
  records: FileRecordStore;
  storage: FileStorage;
  scanner: FileScanner;
  signer: LinkSigner;
  policy: FilePolicy;
  /** Where clients reach this server; attachment urls and download links start with it (known once it listens). */
  publicUrl: () => string;
  log: Logger;
  clock?: () => Date;
}

/** A refusal of the push guard: the row is refused with it and nothing is stored. */
export interface AttachmentRefusal {
  code: ErrorCode;
  message: string;
}

const HEAD_BYTES = 64 * 1024;
const thumbnailKey = (id: string) => `${id}.thumbnail.webp`;

/**
 * The rules of files: who may upload into which conversation and how much, what a completed
 * upload must be before it is ready, which message may carry it, who may fetch it and when it
 * goes away. Shared by the tus hooks, the REST routes and the push path.
 */
export class FileService {
  private readonly allowed: ReadonlySet<string>;
  private readonly clock: () => Date;
  private readonly finishing = new Map<string, Promise<FileRecord>>();

  constructor(private readonly d: FileServiceDeps) {
    this.allowed = new Set(d.policy.allowedTypes);
    this.clock = d.clock ?? (() => new Date());
  }

  get storage(): FileStorage {
    return this.d.storage;
  }

  attachmentUrl(id: string): string {
    return `${this.d.publicUrl()}${FILE_ROUTES.info(id)}`;
  }

  async limits(user: AuthUser): Promise<FileLimits> {
    const p = this.d.policy;
    return {
      maxFileBytes: p.maxFileBytes,
      maxMessageBytes: p.maxMessageBytes,
      maxFilesPerMessage: LIMITS.attachmentsMax,
      allowedTypes: [...p.allowedTypes],
      quotaBytes: p.quotaBytes,
      usedBytes: await this.d.records.usedBytes(user.id),
    };
  }

  /** The checks before any byte is stored (tus creation); records the upload. Answers its id. */
  async beginUpload(user: AuthUser, metadata: Record<string, string | null | undefined>, size: number | undefined): Promise<string> {
    const parsed = parseInput(uploadMetadataSchema, { ...metadata });
    if (!parsed.ok) throw new AppError(parsed.code, `upload metadata: ${parsed.message}`);
    const m = parsed.value;
    if (size === undefined) throw new AppError('VALIDATION_FAILED', 'Upload-Length is required (deferred length is not accepted)');
    const p = this.d.policy;
    if (size > p.maxFileBytes) throw new AppError('FILE_TOO_LARGE', `${m.filename} is larger than ${p.maxFileBytes} bytes`);
    if (!isAllowedDeclaredType(m.filetype, this.allowed)) {
      throw new AppError('FILE_TYPE_NOT_ALLOWED', `files of type ${m.filetype} are not accepted`);
    }
    if (!(await this.mayUseConversation(user.id, m.conversation))) {
      throw new AppError('FORBIDDEN', 'not a participant of this conversation');
    }
    if ((await this.d.records.usedBytes(user.id)) + size > p.quotaBytes) {
      throw new AppError('QUOTA_EXCEEDED', `your files would exceed your quota of ${p.quotaBytes} bytes`);
    }
    const now = this.clock().toISOString();
    try {
      await this.d.records.create({
        id: m.fileId,
        ownerId: user.id,
        conversationId: m.conversation,
        filename: m.filename,
        declaredType: m.filetype,
        size,
        status: 'uploading',
        mimeType: null,
        thumbnail: false,
        messageId: null,
        rejection: null,
        createdAt: now,
        updatedAt: now,
      });
    } catch (err) {
      if (err instanceof FileIdTakenError) throw new AppError('ID_TAKEN', 'this file id is already used');
      throw err;
    }
    return m.fileId;
  }

  /** A request to an existing upload (resume, status, cancel): only its uploader, only while it is one. */
  async authorizeUpload(user: AuthUser, id: string, method: string): Promise<void> {
    const rec = await this.d.records.get(id);
    if (!rec || rec.ownerId !== user.id || rec.status === 'deleted') throw new AppError('NOT_FOUND', 'no such upload');
    if (rec.status === 'rejected' && method !== 'DELETE') throw refusalOf(rec);
    if (method === 'DELETE' && rec.status === 'ready' && rec.messageId) {
      throw new AppError('FORBIDDEN', 'the file belongs to a message; delete the message instead');
    }
  }

  /**
   * The upload was cancelled: its record and bytes go (tus has removed the upload itself). tus
   * calls this as it answers the DELETE, so the record goes first: SQLite removes it before the
   * answer is written (a request right after the answer saw the file, as in a CI run), MongoDB's
   * removal is on its way by then.
   */
  async cancelled(id: string): Promise<void> {
    await this.d.records.remove([id]);
    await this.d.storage.delete(thumbnailKey(id)).catch(() => undefined);
  }

  /**
   * A completed upload becomes ready only after its bytes pass the type check and the scanner;
   * otherwise its bytes are deleted and it stays rejected with the reason. Idempotent: a second
   * call (a retried final PATCH, a status request after a crash) waits for or returns the first.
   */
  finishUpload(id: string): Promise<FileRecord> {
    const running = this.finishing.get(id);
    if (running) return running;
    const work = this.process(id).finally(() => this.finishing.delete(id));
    this.finishing.set(id, work);
    return work;
  }

  private async process(id: string): Promise<FileRecord> {
    const rec = await this.d.records.get(id);
    if (!rec) throw new AppError('NOT_FOUND', 'no such upload');
    if (rec.status !== 'uploading') return rec;
    const { storage, scanner, log } = this.d;
    const head = await storage.readHead(id, HEAD_BYTES);
    const verdict = await verifyFileType(() => storage.read(id), head, rec.declaredType, this.allowed);
    if (!verdict.ok) return this.reject(rec, verdict.code, verdict.message);
    const bytes = await storage.read(id);
    try {
      const scan = await scanner.scan(bytes);
      if (!scan.clean) {
        log.warn({ fileId: id, ownerId: rec.ownerId, signature: scan.signature }, 'infected upload refused');
        return this.reject(rec, 'FILE_INFECTED', `the scanner found ${scan.signature}`);
      }
    } catch (err) {
      log.error({ err, fileId: id }, 'file scan failed');
      if (this.d.policy.scanFailure === 'refuse') throw new AppError('INTERNAL', 'the file could not be scanned; try again');
    } finally {
      // A scanner that fails before reading (clamd down) would leave the file open.
      bytes.destroy();
    }
    let thumbnail = false;
    if (canHaveThumbnail(verdict.mimeType, rec.size)) {
      try {
        await storage.put(thumbnailKey(id), await makeThumbnail(await toBuffer(await storage.read(id)), verdict.mimeType), 'image/webp');
        thumbnail = true;
      } catch (err) {
        // An image sharp cannot decode, a PDF pdf.js cannot draw in time, is still a file; it just has no preview.
        log.info({ err, fileId: id, mimeType: verdict.mimeType }, 'no thumbnail for this file');
      }
    }
    const patch = { status: 'ready' as const, mimeType: verdict.mimeType, thumbnail, updatedAt: this.clock().toISOString() };
    await this.d.records.update(id, patch);
    return { ...rec, ...patch };
  }

  private async reject(rec: FileRecord, code: ErrorCode, message: string): Promise<FileRecord> {
    const rejection = { code, message };
    await this.d.storage.delete(rec.id);
    const patch = { status: 'rejected' as const, rejection, updatedAt: this.clock().toISOString() };
    await this.d.records.update(rec.id, patch);
    return { ...rec, ...patch };
  }

  async info(user: AuthUser, id: string, messageId?: string): Promise<FileInfo> {
    let rec = await this.readable(user.id, id, messageId);
    if (rec.status === 'uploading') {
      // The final PATCH may have been stored before a crash cut its processing.
      const upload = await this.d.storage.uploads.getUpload(id).catch(() => null);
      if (upload && upload.size !== undefined && upload.offset === upload.size) rec = await this.finishUpload(id);
      else return this.present({ ...rec, size: upload?.offset ?? 0 });
    }
    return this.present(rec);
  }

  present(rec: FileRecord): FileInfo {
    return {
      id: rec.id,
      status: rec.status,
      size: rec.size,
      attachment: rec.status === 'ready' ? this.attachmentOf(rec) : null,
      thumbnail: rec.thumbnail,
      rejection: rec.rejection,
    };
  }

  private attachmentOf(rec: FileRecord): Attachment {
    return {
      filename: rec.filename,
      url: this.attachmentUrl(rec.id),
      size: rec.size,
      mimeType: rec.mimeType ?? 'application/octet-stream',
    };
  }

  async thumbnail(user: AuthUser, id: string, messageId?: string): Promise<Buffer> {
    const rec = await this.readable(user.id, id, messageId);
    if (!rec.thumbnail || rec.status !== 'ready') throw new AppError('NOT_FOUND', 'this file has no preview');
    try {
      return await this.d.storage.get(thumbnailKey(id));
    } catch (err) {
      if (err instanceof FileNotFoundError) throw new AppError('NOT_FOUND', 'this file has no preview');
      throw err;
    }
  }

  async link(user: AuthUser, id: string, request: { message?: string; disposition: 'attachment' | 'inline' }): Promise<FileLink> {
    const rec = await this.readable(user.id, id, request.message);
    if (rec.status !== 'ready') throw new AppError('NOT_FOUND', 'this file is not ready');
    const expires = Math.floor(this.clock().getTime() / 1000) + this.d.policy.linkTtlSeconds;
    // Images only: a PDF has a thumbnail too, but it always downloads.
    const inline = request.disposition === 'inline' && PREVIEWABLE_IMAGE_TYPES.includes(rec.mimeType ?? '');
    const query = this.d.signer.query({ fileId: id, userId: user.id, messageId: request.message ?? null, inline, expires });
    return { url: `${this.d.publicUrl()}/api/files/${id}/content?${query}`, expiresAt: new Date(expires * 1000).toISOString() };
  }

  /**
   * A signed link's bytes. The signature proves who asked and until when; the right to the file
   * is checked again now, so a deleted message or a lost participation ends the link at once.
   */
  async download(
    id: string,
    query: Record<string, unknown>,
  ): Promise<{ record: FileRecord; inline: boolean; open(range?: { start: number; end: number }): Promise<Readable> }> {
    const claims = this.d.signer.verify(id, query, Math.floor(this.clock().getTime() / 1000));
    if (!claims) throw new AppError('LINK_EXPIRED', 'this download link has expired or is not valid; open the file again');
    const record = await this.readable(claims.userId, id, claims.messageId ?? undefined);
    if (record.status !== 'ready') throw new AppError('NOT_FOUND', 'no such file');
    const open = async (range?: { start: number; end: number }) => {
      try {
        return await this.d.storage.read(id, range);
      } catch (err) {
        if (err instanceof FileNotFoundError) throw new AppError('NOT_FOUND', 'no such file');
        throw err;
      }
    };
    return { record, inline: claims.inline, open };
  }

  /**
   * The record of a file this user may read: its uploader (until it is deleted), or a
   * participant of a stored, not deleted message that carries it. Anything else is NOT_FOUND,
   * the same answer as a file that does not exist.
   */
  private async readable(userId: string, id: string, messageId: string | undefined): Promise<FileRecord> {
    const rec = await this.d.records.get(id);
    const missing = new AppError('NOT_FOUND', 'no such file');
    if (!rec || rec.status === 'deleted') throw missing;
    if (rec.ownerId === userId) return rec;
    const carrier = messageId ?? rec.messageId;
    if (!carrier || rec.messageId !== carrier) throw missing;
    const [message] = await this.d.store.getDocs('messages', [carrier]);
    if (!message || message.isDeleted || (message.sender !== userId && message.recipient !== userId)) throw missing;
    if (!message.attachments.some((a) => a.url === this.attachmentUrl(id))) throw missing;
    return rec;
  }

  private async mayUseConversation(userId: string, conversationId: string): Promise<boolean> {
    const [conversation] = await this.d.store.getDocs('conversations', [conversationId]);
    if (conversation) return conversation.participants.includes(userId);
    // Not created on the server yet (written offline): a derived id names its participants.
    const parts = conversationId.split('.');
    return parts[0] === 'c' && (parts[1] === userId || parts[2] === userId);
  }

  /**
   * The push guard: may this write of a message carry its attachments? Only attachments it
   * adds are checked (an edit that keeps them costs nothing). Each must be exactly what the
   * server answered for a ready file this sender uploaded into this conversation and that no
   * other message carries; the check reserves the files for this message.
   */
  async checkAttachments(message: MessageDoc, before: MessageDoc | null): Promise<AttachmentRefusal | null> {
    const known = new Set(before?.attachments.map((a) => a.url) ?? []);
    const added = message.attachments.filter((a) => !known.has(a.url));
    if (added.length === 0) return null;
    const total = message.attachments.reduce((sum, a) => sum + a.size, 0);
    if (total > this.d.policy.maxMessageBytes) {
      return { code: 'FILE_TOO_LARGE', message: `a message's files may hold at most ${this.d.policy.maxMessageBytes} bytes` };
    }
    const invalid = (message: string): AttachmentRefusal => ({ code: 'ATTACHMENT_INVALID', message });
    const toBind: string[] = [];
    for (const a of added) {
      const id = fileIdOfAttachmentUrl(a.url);
      if (!id || !a.url.startsWith(this.d.publicUrl())) {
        if (this.isExternalLink(a.url)) continue;
        return invalid(`${a.filename}: not a file uploaded to this server`);
      }
      const rec = await this.d.records.get(id);
      if (!rec || rec.ownerId !== message.sender || rec.conversationId !== message.conversation) {
        return invalid(`${a.filename}: no such file of yours in this conversation`);
      }
      if (rec.status === 'uploading') return { code: 'ATTACHMENT_NOT_READY', message: `${a.filename}: its upload is not complete` };
      if (rec.status !== 'ready') return invalid(`${a.filename}: the file was ${rec.status}`);
      if (rec.messageId !== null && rec.messageId !== message.id) return invalid(`${a.filename}: the file belongs to another message`);
      const expected = this.attachmentOf(rec);
      if (a.filename !== expected.filename || a.size !== expected.size || a.mimeType !== expected.mimeType || a.url !== expected.url) {
        return invalid(`${a.filename}: must be exactly the attachment the server answered for the file`);
      }
      toBind.push(id);
    }
    for (const id of toBind) {
      if (!(await this.d.records.bind(id, message.id))) return invalid('the file belongs to another message');
    }
    return null;
  }

  /** After a commit: files a message no longer carries (deleted, or edited out) are deleted for everyone. */
  async messageWritten(before: MessageDoc | null, after: MessageDoc): Promise<void> {
    if (!before || before.attachments.length === 0) return;
    const kept = new Set(after.attachments.map((a) => a.url));
    for (const a of before.attachments) {
      const id = fileIdOfAttachmentUrl(a.url);
      if (!id || kept.has(a.url)) continue;
      const rec = await this.d.records.get(id);
      if (rec && rec.messageId === before.id) await this.deleteFile(rec);
    }
  }

  private async deleteFile(rec: FileRecord): Promise<void> {
    // The record goes first: from then on nobody is served the bytes, even if removing them fails.
    await this.d.records.update(rec.id, { status: 'deleted', updatedAt: this.clock().toISOString() });
    await this.d.storage.delete(rec.id);
    await this.d.storage.delete(thumbnailKey(rec.id));
  }

  /** Removes expired incomplete uploads, refused files and files never sent; answers how many records went. */
  async cleanup(): Promise<number> {
    await this.d.storage.deleteExpired();
    const before = new Date(this.clock().getTime() - this.d.policy.unattachedTtlMs).toISOString();
    const stale = await this.d.records.stale(before, 500);
    const gone: string[] = [];
    for (const rec of stale) {
      // A message may have taken the file since it was listed: expire() and bind() exclude each other.
      if (!(await this.d.records.expire(rec.id, before))) continue;
      await this.d.storage.delete(rec.id);
      await this.d.storage.delete(thumbnailKey(rec.id));
      gone.push(rec.id);
    }
    await this.d.records.remove(gone);
    return gone.length;
  }

  private isExternalLink(url: string): boolean {
    const origin = URL.canParse(url) ? new URL(url).origin : null;
    return origin !== null && this.d.policy.externalLinkOrigins.includes(origin);
  }
}

function refusalOf(rec: FileRecord): AppError {
  const code = (rec.rejection?.code ?? 'FORBIDDEN') as ErrorCode;
  return new AppError(code, rec.rejection?.message ?? 'this file was refused');
}

async function toBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
