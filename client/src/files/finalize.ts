import { type Attachment, type MessageDoc, PREVIEWABLE_IMAGE_TYPES } from '@fetchwork/shared-schema';
import type { MessageCollection } from '../db/collections';
import type { FileQueue, QueuedFile } from './file-queue';
import { pendingFileId } from './pending-attachments';

/** An own image this small is kept as its preview, so the bubble need not fetch it back. */
const LOCAL_PREVIEW_MAX_BYTES = 2 * 1024 * 1024;

/**
 * Once every file of an unsent message is uploaded and checked, puts the server's attachments
 * into the message in place of the pending ones. That local write is also what makes RxDB push
 * the message again: the upload gate held it back while it had pending urls, and RxDB recorded
 * that state as pushed. Safe from any tab and idempotent (the write re-reads the message and
 * changes nothing unless every pending file of it is done).
 */
export async function finalizeMessage(messages: MessageCollection, queue: FileQueue, messageId: string): Promise<boolean> {
  const doc = await messages.findOne(messageId).exec();
  if (!doc) return false;
  const ids = pendingIds(doc.attachments);
  if (ids.length === 0) return false;
  const files = await queue.getMany(ids);
  if (!ids.every((id) => files.get(id)?.state === 'done')) return false;
  let replaced = false;
  await doc.incrementalModify((d: MessageDoc) => {
    const next = pendingIds(d.attachments);
    if (next.length === 0 || !next.every((id) => files.get(id)?.state === 'done')) return d;
    replaced = true;
    return { ...d, attachments: d.attachments.map((a) => serverAttachment(a, files)) };
  });
  if (!replaced) return false;
  await keepLocalPreviews(queue, [...files.values()]);
  await queue.remove(ids);
  return true;
}

function pendingIds(attachments: readonly Attachment[]): string[] {
  return attachments.flatMap((a) => {
    const id = pendingFileId(a.url);
    return id ? [id] : [];
  });
}

function serverAttachment(a: Attachment, files: Map<string, QueuedFile>): Attachment {
  const id = pendingFileId(a.url);
  const done = id ? files.get(id)?.attachment : null;
  return done ? { ...done } : a;
}

async function keepLocalPreviews(queue: FileQueue, files: QueuedFile[]): Promise<void> {
  for (const f of files) {
    const type = f.attachment?.mimeType ?? f.type;
    if (PREVIEWABLE_IMAGE_TYPES.includes(type) && f.size <= LOCAL_PREVIEW_MAX_BYTES) {
      await queue.putPreview(f.fileId, f.blob).catch(() => undefined);
    }
  }
}
