import type { FileLimits } from '@fetchwork/shared-schema';
import { useCallback, useEffect, useRef, useState } from 'react';
import { checkFiles } from '../files/file-limits';
import { useInbox } from '../hooks';

/** Files chosen but not sent yet, per conversation, kept while switching conversations in this tab. */
const drafts = new Map<string, File[]>();

export interface AttachmentDraft {
  files: readonly File[];
  /** Why the last files offered were not taken (names them); null when all were. */
  error: string | null;
  add(files: Iterable<File>): void;
  remove(index: number): void;
  clear(): void;
}

/**
 * The files a message will carry, checked against the limits as they are chosen (picker, drop,
 * paste), so that a refusal names the file before the user writes the caption; sending checks
 * again.
 */
export function useAttachmentDraft(conversationId: string): AttachmentDraft {
  const inbox = useInbox();
  const [files, setFiles] = useState<File[]>(() => drafts.get(conversationId) ?? []);
  const [error, setError] = useState<string | null>(null);
  const current = useRef(files);
  const limits = useRef<FileLimits | null>(null);

  const set = useCallback(
    (next: File[]) => {
      current.current = next;
      if (next.length > 0) drafts.set(conversationId, next);
      else drafts.delete(conversationId);
      setFiles(next);
    },
    [conversationId],
  );

  useEffect(() => {
    const kept = drafts.get(conversationId) ?? [];
    current.current = kept;
    setFiles(kept);
    setError(null);
  }, [conversationId]);

  const add = useCallback(
    (incoming: Iterable<File>) => {
      const offered = [...incoming];
      if (offered.length === 0) return;
      void (async () => {
        limits.current ??= await inbox.fileLimits();
        const accepted = [...current.current];
        const refusals: string[] = [];
        for (const f of offered) {
          try {
            checkFiles([...accepted, f], limits.current);
            accepted.push(f);
          } catch (err) {
            refusals.push(err instanceof Error ? err.message : String(err));
          }
        }
        set(accepted);
        setError(refusals.length > 0 ? refusals.join(' · ') : null);
      })();
    },
    [inbox, set],
  );

  const remove = useCallback(
    (index: number) => {
      set(current.current.filter((_, i) => i !== index));
      setError(null);
    },
    [set],
  );

  const clear = useCallback(() => {
    set([]);
    setError(null);
  }, [set]);

  return { files, error, add, remove, clear };
}
