import { type Attachment, FILE_ROUTES, type MessageDoc } from '@fetchwork/shared-schema';

/**
 * A queued file's attachment carries this url until the upload is done: the server's own url
 * form, marked with a fragment the server never hands out, so that the message can be written
 * (and shown) offline while nothing can mistake it for a file that exists.
 */
const PENDING_MARK = '#pending';
const PENDING_URL = /\/api\/files\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})#pending$/;

export function pendingAttachmentUrl(serverUrl: string, fileId: string): string {
  return `${serverUrl.replace(/\/+$/, '')}${FILE_ROUTES.info(fileId)}${PENDING_MARK}`;
}

/** The file id of a queued file's attachment url; null for an uploaded (or any other) url. */
export function pendingFileId(url: string): string | null {
  return PENDING_URL.exec(url)?.[1] ?? null;
}

export function isPendingAttachment(a: Attachment): boolean {
  return pendingFileId(a.url) !== null;
}

/** A message that still waits for uploads: it must not reach the server yet. */
export function hasPendingAttachments(m: Pick<MessageDoc, 'attachments'>): boolean {
  return m.attachments.some(isPendingAttachment);
}
