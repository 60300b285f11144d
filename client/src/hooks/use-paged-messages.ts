import { useCallback, useState } from 'react';
import type { MessageView } from '../inbox-api';
import { useMessages } from './use-inbox-data';

export interface MessagePages {
  /** Oldest first; undefined until the first page loaded. */
  messages: MessageView[] | undefined;
  /** Shows `pageSize` more older messages. */
  loadOlder(): void;
  /** False once a page came back short: there is nothing older in the replica. */
  hasOlder: boolean;
}

/** Newest-first paging over the local replica: each page widens the live query. */
export function usePagedMessages(conversationId: string, pageSize: number): MessagePages {
  // Pages belong to one conversation: opening another starts again from the newest page.
  const [state, setState] = useState({ conversationId, pages: 1 });
  const pages = state.conversationId === conversationId ? state.pages : 1;
  const limit = pages * pageSize;
  const messages = useMessages(conversationId, limit);
  const loadOlder = useCallback(
    () => setState((s) => ({ conversationId, pages: (s.conversationId === conversationId ? s.pages : 1) + 1 })),
    [conversationId],
  );
  return { messages, loadOlder, hasOlder: messages === undefined || messages.length >= limit };
}
