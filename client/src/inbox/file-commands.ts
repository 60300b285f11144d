import {
  type Attachment,
  type FileLimits,
  type FileLink,
  fileIdOfAttachmentUrl,
  LIMITS,
  PREVIEWABLE_IMAGE_TYPES,
  THUMBNAIL_TYPES,
} from '@fetchwork/shared-schema';
import { map, type Observable, shareReplay } from 'rxjs';
import type { InboxDatabase } from '../db/collections';
import type { FileApi } from '../files/file-api';
import { checkFiles, FALLBACK_FILE_LIMITS, type OutgoingFile } from '../files/file-limits';
import type { FileQueue, QueuedFile, QueuedFileView } from '../files/file-queue';
import { finalizeMessage } from '../files/finalize';
import { pendingAttachmentUrl, pendingFileId } from '../files/pending-attachments';
import type { FileUploadView, MessageView, SessionUser } from '../inbox-api';
import { InboxCommandError, type InboxCommandHandlers } from './commands';

const LIMITS_KEY = 'limits';

export interface FileCommandsOptions {
  db: InboxDatabase;
  user: SessionUser;
  serverUrl: string;
  queue: FileQueue;
  api: FileApi;
  commands: InboxCommandHandlers;
}

const toView = (f: QueuedFileView): FileUploadView => ({
  fileId: f.fileId,
  messageId: f.messageId,
  filename: f.filename,
  type: f.type,
  size: f.size,
  state: f.state,
  bytesSent: f.bytesSent,
  error: f.error,
});

/**
 * Sending files, local first like every command: the files are checked against the limits,
 * their bytes stored in the file queue, and the message written at once with pending
 * attachments; the leader tab's uploader does the rest. Also what the UI needs to show files:
 * upload state, previews (cached for offline), and signed links to open them.
 */
export class FileCommands {
  private readonly files$: Observable<QueuedFileView[]>;
  private readonly previewsInFlight = new Map<string, Promise<Blob | null>>();

  constructor(private readonly o: FileCommandsOptions) {
    this.files$ = o.queue.views$().pipe(shareReplay({ bufferSize: 1, refCount: true }));
  }

  /** The server's limits as last fetched, or conservative ones before that (offline first start). */
  async limits(): Promise<FileLimits> {
    return (await this.o.queue.getMeta<FileLimits>(LIMITS_KEY).catch(() => null)) ?? FALLBACK_FILE_LIMITS;
  }

  /** Fetches the limits (when online); a failure keeps the ones known. */
  async refreshLimits(): Promise<FileLimits> {
    const limits = await this.o.api.limits();
    await this.o.queue.setMeta(LIMITS_KEY, limits);
    return limits;
  }

  async sendMessageWithFiles(conversationId: string, content: string, files: readonly OutgoingFile[]): Promise<MessageView> {
    if (content.length > LIMITS.contentMaxLength) {
      throw new InboxCommandError('INVALID_INPUT', `a message has at most ${LIMITS.contentMaxLength} characters`);
    }
    const queued = (await this.o.queue.all()).filter((f) => f.state === 'queued' || f.state === 'uploading');
    const checked = checkFiles(
      files,
      await this.limits(),
      queued.reduce((n, f) => n + f.size, 0),
    );
    const conv = await this.o.commands.writableConversation(conversationId);
    const messageId = crypto.randomUUID();
    const queuedAt = new Date().toISOString();
    const records: QueuedFile[] = checked.map((f, index) => ({
      fileId: crypto.randomUUID(),
      messageId,
      conversation: conv.id,
      blob: f.blob,
      filename: f.filename,
      type: f.type,
      size: f.size,
      index,
      queuedAt,
      state: 'queued',
      uploadUrl: null,
      bytesSent: 0,
      attachment: null,
      error: null,
      attempts: 0,
      retryAt: 0,
    }));
    const attachments: Attachment[] = records.map((r) => ({
      filename: r.filename,
      url: pendingAttachmentUrl(this.o.serverUrl, r.fileId),
      size: r.size,
      mimeType: r.type,
    }));
    // Bytes first: the uploader never meets a message whose files are not stored yet.
    await this.o.queue.add(records);
    try {
      return await this.o.commands.insertMessage(conv, { id: messageId, content, attachments });
    } catch (err) {
      await this.o.queue.remove(records.map((r) => r.fileId)).catch(() => undefined);
      throw err;
    }
  }

  /** The files of an unsent message, in order, with their upload state (every tab). */
  /**
   * The files not uploaded yet (queued, uploading, or uploaded and waiting for their message to
   * be finalized) and those refused for good (`failed`), with their messages: what signing out
   * would lose. Cancelled files are on their way out and not counted.
   */
  queuedFiles$(): Observable<{ pending: QueuedFileView[]; failed: QueuedFileView[] }> {
    return this.files$.pipe(
      map((files) => ({
        pending: files.filter((f) => f.state === 'queued' || f.state === 'uploading' || f.state === 'done'),
        failed: files.filter((f) => f.state === 'failed'),
      })),
    );
  }

  uploads$(messageId: string): Observable<FileUploadView[]> {
    return this.files$.pipe(map((files) => files.filter((f) => f.messageId === messageId).map(toView)));
  }

  /**
   * Takes one file out of an unsent message: the upload stops (in whichever tab runs it) and is
   * deleted on the server. A message left with neither files nor text is discarded.
   */
  async cancelFile(messageId: string, fileId: string): Promise<void> {
    const doc = await this.o.db.messages.findOne(messageId).exec();
    if (!doc) throw new InboxCommandError('NOT_FOUND', 'no such message');
    if (doc.sender !== this.o.user.id) throw new InboxCommandError('FORBIDDEN', 'not your message');
    if (doc.seq > 0) throw new InboxCommandError('FORBIDDEN', 'the server has this message: delete it instead');
    await this.o.queue.updateIf(fileId, (f) => f.state !== 'cancelled', { state: 'cancelled' });
    let empty = false;
    await doc.incrementalModify((d) => {
      const attachments = d.attachments.filter((a) => pendingFileId(a.url) !== fileId);
      if (attachments.length === d.attachments.length) return d;
      if (attachments.length === 0 && d.content.trim() === '') {
        empty = true;
        return d;
      }
      return { ...d, attachments, messageType: attachments.length > 0 ? 'file' : 'text' };
    });
    if (empty) {
      await this.o.commands.discardMessage(messageId);
      await this.forgetMessages([messageId]);
      return;
    }
    // The rest may all be done already: then the message can go now.
    await finalizeMessage(this.o.db.messages, this.o.queue, messageId);
  }

  /** A discarded or deleted message: its queued files are cancelled (and deleted on the server). */
  async forgetMessages(messageIds: readonly string[]): Promise<void> {
    for (const id of messageIds) {
      for (const f of await this.o.queue.ofMessage(id)) {
        await this.o.queue.updateIf(f.fileId, (x) => x.state !== 'cancelled', { state: 'cancelled' });
      }
    }
  }

  /**
   * An image or PDF preview: an own queued image from its local bytes; otherwise the server's
   * thumbnail, fetched once with the token and cached, so that it shows offline afterwards. A
   * 404 is cached too (as "none"), so a file without one is asked about once, not at every render.
   * Null for files without one (and while offline before it was ever fetched).
   */
  async preview(messageId: string, attachment: Attachment): Promise<Blob | null> {
    const queuedId = pendingFileId(attachment.url);
    if (queuedId) {
      const f = await this.o.queue.get(queuedId);
      return f && PREVIEWABLE_IMAGE_TYPES.includes(f.type) ? f.blob : null;
    }
    const fileId = fileIdOfAttachmentUrl(attachment.url);
    if (!fileId || !THUMBNAIL_TYPES.includes(attachment.mimeType)) return null;
    const cached = await this.o.queue.preview(fileId);
    if (cached !== undefined) return cached;
    let pending = this.previewsInFlight.get(fileId);
    if (!pending) {
      pending = this.o.api
        .thumbnail(fileId, messageId)
        .then(async (blob) => {
          await this.o.queue.putPreview(fileId, blob).catch(() => undefined);
          return blob;
        })
        .catch(() => null)
        .finally(() => this.previewsInFlight.delete(fileId));
      this.previewsInFlight.set(fileId, pending);
    }
    return pending;
  }

  /**
   * A signed, short-lived link to the file: `inline` shows an image in the browser,
   * `attachment` downloads it under its real name. Needs the network.
   */
  async fileLink(messageId: string, attachment: Attachment, disposition: 'attachment' | 'inline'): Promise<FileLink> {
    const fileId = fileIdOfAttachmentUrl(attachment.url);
    if (!fileId) throw new InboxCommandError('INVALID_INPUT', 'this file is not on the server (yet)');
    return this.o.api.link(fileId, { message: messageId, disposition });
  }
}
