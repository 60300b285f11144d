import { type FileInfo, fileIdOfAttachmentUrl } from '@fetchwork/shared-schema';
import type { Observable } from 'rxjs';
import { Subscription } from 'rxjs';
import { type HttpStack, Upload } from 'tus-js-client';
import type { MessageCollection } from '../db/collections';
import { blobFileReader } from './blob-reader';
import type { FileApi } from './file-api';
import type { FileQueue, QueuedFile, QueuedFileView } from './file-queue';
import { finalizeMessage } from './finalize';
import { pendingFileId } from './pending-attachments';
import { classifyUploadError, isTransientTusError } from './upload-errors';

export interface UploadTuning {
  /**
   * Bytes per PATCH. The whole file by default: an interruption does not cost a chunk (the server
   * keeps what a cut PATCH delivered and tus resumes from its offset), and in Chromium each extra
   * request cost ~25 ms, so 8 MiB chunks ran at 0.42× of a raw PUT against 0.98× for one request
   * (docs/performance.md, Files). Smaller only behind a proxy that limits request bodies.
   */
  chunkSize: number;
  /** tus's own quick retries of a request before the upload counts as failed for now. */
  retryDelays: number[];
  /** Pause after an attempt failed for now, doubling up to the maximum. */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Tests: tus's HTTP stack (to count or cut requests). */
  httpStack?: HttpStack;
}

export const DEFAULT_UPLOAD_TUNING: UploadTuning = {
  chunkSize: Number.POSITIVE_INFINITY,
  retryDelays: [0, 1000, 3000],
  backoffMinMs: 2000,
  backoffMaxMs: 60_000,
};

export interface UploaderOptions {
  queue: FileQueue;
  messages: MessageCollection;
  api: FileApi;
  /** Connected and signed in (the socket's handshake was accepted). */
  online$: Observable<boolean>;
  tuning: UploadTuning;
}

/** Progress is stored (and so shown in every tab) at most this often. */
const PROGRESS_WRITE_MS = 250;
/** A file whose message is not there yet: the send writes the file first, the message right after. */
const ORPHAN_GRACE_MS = 30_000;

type Outcome = { kind: 'sent'; info: FileInfo | null } | { kind: 'error'; error: unknown } | { kind: 'aborted' };
type Next = { kind: 'file'; file: QueuedFile } | { kind: 'wait'; ms: number } | { kind: 'none' };

const active = (f: QueuedFile) => f.state === 'queued' || f.state === 'uploading';

/**
 * Uploads queued files with tus, one at a time in the order they were sent, in the leader tab
 * only (so that two tabs never upload the same file). Resumes an interrupted upload from its
 * stored url (tus asks the server's offset with HEAD) after an offline period, a reload or a
 * server restart. When every file of a message is done, puts the server's attachments into the
 * message (finalize.ts), which lets replication push it. A refused file is marked failed with
 * the server's reason; a cancelled one is aborted and deleted on the server (tus termination).
 */
export class Uploader {
  private online = false;
  private stopped = false;
  /** Something changed since the loop last looked (queue, connection). */
  private dirty = true;
  private wake: (() => void) | null = null;
  private current: { fileId: string; upload: Upload; settle: (o: Outcome) => void } | null = null;
  private readonly subs = new Subscription();
  private readonly running: Promise<void>;

  constructor(private readonly o: UploaderOptions) {
    this.subs.add(
      o.online$.subscribe((online) => {
        this.online = online;
        if (!online) this.abortCurrent();
        this.poke();
      }),
    );
    this.subs.add(o.queue.views$().subscribe({ next: (files) => this.onQueue(files), error: () => undefined }));
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.subs.unsubscribe();
    this.abortCurrent();
    this.poke();
    await this.running;
  }

  /** A cancel (from any tab) stops the running upload at once; the loop then terminates it. */
  private onQueue(files: QueuedFileView[]): void {
    const current = this.current;
    if (current) {
      const file = files.find((f) => f.fileId === current.fileId);
      if (!file || file.state === 'cancelled') this.abortCurrent();
    }
    this.poke();
  }

  private poke(): void {
    this.dirty = true;
    this.wake?.();
  }

  private idle(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.dirty || this.stopped) return resolve();
      const timer = ms === undefined ? null : setTimeout(() => done(), ms);
      const done = () => {
        if (timer) clearTimeout(timer);
        if (this.wake === done) this.wake = null;
        resolve();
      };
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    await this.settleDone().catch(() => undefined);
    while (!this.stopped) {
      this.dirty = false;
      if (!this.online) {
        await this.idle();
        continue;
      }
      try {
        const next = await this.next();
        if (next.kind === 'none') await this.idle();
        else if (next.kind === 'wait') await this.idle(next.ms);
        else await this.process(next.file);
      } catch {
        // IndexedDB or the replica refused (closing, quota): look again in a moment.
        await this.idle(1000);
      }
    }
  }

  /** Cancelled files first (their server copy goes), then the oldest message's files in order. */
  private async next(): Promise<Next> {
    const files = await this.o.queue.all();
    const now = Date.now();
    const cancelled = files.filter((f) => f.state === 'cancelled');
    const head = files.find(active);
    const candidates = head ? [...cancelled, head] : cancelled;
    if (candidates.length === 0) return { kind: 'none' };
    const ready = candidates.find((f) => f.retryAt <= now);
    if (ready) return { kind: 'file', file: ready };
    return { kind: 'wait', ms: Math.min(...candidates.map((f) => f.retryAt)) - now };
  }

  private async process(file: QueuedFile): Promise<void> {
    if (file.state === 'cancelled') return this.terminate(file);
    const message = await this.o.messages.findOne(file.messageId).exec();
    const wanted = message?.attachments.some((a) => pendingFileId(a.url) === file.fileId) ?? false;
    if (!wanted) {
      if (!message && Date.now() - Date.parse(file.queuedAt) < ORPHAN_GRACE_MS) return this.idle(500);
      // Removed from its message (or the message discarded) in a tab that could not stop it.
      await this.o.queue.updateIf(file.fileId, active, { state: 'cancelled' });
      return;
    }
    if (!(await this.o.queue.updateIf(file.fileId, active, { state: 'uploading' }))) return;
    const outcome = await this.send(file);
    if (outcome.kind === 'sent') await this.complete(file, outcome.info);
    else if (outcome.kind === 'error') await this.failed(file, outcome.error);
  }

  private send(file: QueuedFile): Promise<Outcome> {
    const { queue, api, tuning } = this.o;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      let lastWrite = 0;
      const settle = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        if (this.current?.upload === upload) this.current = null;
        resolve(outcome);
      };
      const stillUploading = (f: QueuedFile) => f.state === 'uploading';
      const upload: Upload = new Upload(file.blob, {
        endpoint: api.uploadsEndpoint,
        // Resume where the server stands rather than from zero; a url the server no longer
        // knows makes tus create a new upload.
        uploadUrl: file.uploadUrl,
        metadata: { fileId: file.fileId, conversation: file.conversation, filename: file.filename, filetype: file.type },
        chunkSize: tuning.chunkSize,
        retryDelays: tuning.retryDelays,
        // The url is kept in the queue (with the file), not in tus's own storage.
        storeFingerprintForResuming: false,
        fileReader: blobFileReader,
        ...(tuning.httpStack ? { httpStack: tuning.httpStack } : {}),
        onBeforeRequest: async (req) => {
          req.setHeader('Authorization', await api.authorization());
        },
        onShouldRetry: (err) => this.online && isTransientTusError(err),
        onUploadUrlAvailable: () => {
          if (upload.url && upload.url !== file.uploadUrl) void queue.update(file.fileId, { uploadUrl: upload.url }).catch(() => undefined);
        },
        onProgress: (bytesSent) => {
          const now = Date.now();
          if (now - lastWrite < PROGRESS_WRITE_MS) return;
          lastWrite = now;
          void queue.updateIf(file.fileId, stillUploading, { bytesSent }).catch(() => undefined);
        },
        onChunkComplete: (_chunk, bytesAccepted) => {
          void queue.updateIf(file.fileId, stillUploading, { bytesSent: bytesAccepted }).catch(() => undefined);
        },
        onSuccess: ({ lastResponse }) => settle({ kind: 'sent', info: fileInfoIn(lastResponse.getBody(), file.fileId) }),
        onError: (error) => settle({ kind: 'error', error }),
      });
      this.current = { fileId: file.fileId, upload, settle };
      upload.start();
    });
  }

  /** Stops the running upload where it is (offline, cancelled, stopping); its url stays for the resume. */
  private abortCurrent(): void {
    const current = this.current;
    if (!current) return;
    this.current = null;
    void current.upload.abort(false).catch(() => undefined);
    current.settle({ kind: 'aborted' });
  }

  /**
   * The last PATCH was answered: the server has checked the bytes, and its verdict is the file's
   * state. The answer carries it; a resumed upload that was already complete (HEAD) does not.
   */
  private async complete(file: QueuedFile, answered: FileInfo | null): Promise<void> {
    let info: FileInfo;
    try {
      info = answered ?? (await this.o.api.info(file.fileId));
    } catch (err) {
      return this.failed(file, err);
    }
    const stillUploading = (f: QueuedFile) => f.state === 'uploading';
    if (info.status === 'ready' && info.attachment) {
      const done = await this.o.queue.updateIf(file.fileId, stillUploading, {
        state: 'done',
        attachment: info.attachment,
        bytesSent: file.size,
        error: null,
        attempts: 0,
      });
      if (done) await finalizeMessage(this.o.messages, this.o.queue, file.messageId);
    } else if (info.status === 'rejected' || info.status === 'deleted') {
      const error = info.rejection ?? { code: 'ATTACHMENT_INVALID', message: 'the server no longer has this file' };
      await this.o.queue.updateIf(file.fileId, stillUploading, { state: 'failed', error });
    } else {
      await this.failed(file, new Error('the server is still processing the file'));
    }
  }

  private async failed(file: QueuedFile, error: unknown): Promise<void> {
    const verdict = await classifyUploadError(error);
    if (verdict.kind === 'refused') {
      await this.o.queue.updateIf(file.fileId, active, { state: 'failed', error: verdict.failure });
      return;
    }
    const attempts = file.attempts + 1;
    const delay = Math.min(this.o.tuning.backoffMaxMs, this.o.tuning.backoffMinMs * 2 ** (attempts - 1));
    await this.o.queue.updateIf(file.fileId, active, {
      state: 'queued',
      attempts,
      retryAt: Date.now() + delay,
      ...(verdict.kind === 'gone' ? { uploadUrl: null, bytesSent: 0 } : {}),
    });
  }

  /** Deletes a cancelled upload on the server (tus termination), then forgets the file. */
  private async terminate(file: QueuedFile): Promise<void> {
    if (file.uploadUrl) {
      try {
        await Upload.terminate(file.uploadUrl, {
          retryDelays: [],
          ...(this.o.tuning.httpStack ? { httpStack: this.o.tuning.httpStack } : {}),
          onBeforeRequest: async (req) => {
            req.setHeader('Authorization', await this.o.api.authorization());
          },
        });
      } catch (err) {
        const verdict = await classifyUploadError(err);
        // Gone or refused: nothing left to delete there. Otherwise try again later.
        if (verdict.kind === 'transient') {
          const attempts = file.attempts + 1;
          const delay = Math.min(this.o.tuning.backoffMaxMs, this.o.tuning.backoffMinMs * 2 ** (attempts - 1));
          await this.o.queue.update(file.fileId, { attempts, retryAt: Date.now() + delay });
          return;
        }
      }
    }
    await this.o.queue.remove([file.fileId]);
  }

  /**
   * Files that were done when the tab closed: the message may still wait for its attachments
   * (finalize), or already carry them (only the queue entry is left).
   */
  private async settleDone(): Promise<void> {
    const done = (await this.o.queue.all()).filter((f) => f.state === 'done');
    const byMessage = new Map<string, QueuedFile[]>();
    for (const f of done) byMessage.set(f.messageId, [...(byMessage.get(f.messageId) ?? []), f]);
    for (const [messageId, files] of byMessage) {
      const message = await this.o.messages.findOne(messageId).exec();
      if (message?.attachments.some((a) => files.some((f) => pendingFileId(a.url) === f.fileId))) {
        await finalizeMessage(this.o.messages, this.o.queue, messageId);
        continue;
      }
      for (const f of files) {
        const carried = message?.attachments.some((a) => fileIdOfAttachmentUrl(a.url) === f.fileId) ?? false;
        if (carried) await this.o.queue.remove([f.fileId]);
        else await this.o.queue.update(f.fileId, { state: 'cancelled' });
      }
    }
  }
}

/** The FileInfo the final PATCH answers with, if that is what the body is. */
function fileInfoIn(body: string | undefined, fileId: string): FileInfo | null {
  if (!body) return null;
  try {
    const info = JSON.parse(body) as FileInfo;
    return info && info.id === fileId && typeof info.status === 'string' ? info : null;
  } catch {
    return null;
  }
}
