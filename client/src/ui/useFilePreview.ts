import type { Attachment } from '@fetchwork/shared-schema';
import { useEffect, useState } from 'react';
import { useInbox } from '../hooks';

/** An object URL of an attachment's preview image (null while loading or when it has none), revoked on unmount. */
export function useFilePreview(messageId: string, attachment: Attachment, enabled: boolean): string | null {
  const inbox = useInbox();
  const [url, setUrl] = useState<string | null>(null);
  const { url: fileUrl, mimeType } = attachment;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new revision of the same attachment is the same preview
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    let objectUrl: string | null = null;
    inbox.filePreview(messageId, attachment).then(
      (blob) => {
        if (!live || !blob) return;
        objectUrl = URL.createObjectURL(blob);
        setUrl(objectUrl);
      },
      () => undefined,
    );
    return () => {
      live = false;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      setUrl(null);
    };
  }, [inbox, messageId, fileUrl, mimeType, enabled]);
  return url;
}
