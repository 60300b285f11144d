import { type Attachment, PREVIEWABLE_IMAGE_TYPES } from '@fetchwork/shared-schema';
import type { Inbox } from '../inbox-api';

/**
 * Opens a file through a short-lived signed link (a navigation cannot carry the token): an
 * image in a new tab, anything else as a download under its real name (the server's
 * Content-Disposition names it even where `download` is ignored, cross-origin).
 */
export async function openAttachment(inbox: Inbox, messageId: string, attachment: Attachment): Promise<void> {
  const inline = PREVIEWABLE_IMAGE_TYPES.includes(attachment.mimeType);
  const link = await inbox.fileLink(messageId, attachment, inline ? 'inline' : 'attachment');
  if (inline) {
    window.open(link.url, '_blank', 'noopener,noreferrer');
    return;
  }
  const a = document.createElement('a');
  a.href = link.url;
  a.download = attachment.filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}
