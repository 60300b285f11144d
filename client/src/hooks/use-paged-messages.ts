import { useCallback, useState } from 'react';
import type { MessageView } from '../inbox-api';
import { useMessageWindow } from './use-inbox-data';

export interface MessagePages {
  /** Oldest first; undefined until the first page loaded. A wider page keeps these until it answers. */
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
  const loaded = useMessageWindow(conversationId, pages * pageSize);
  const loadOlder = useCallback(
    () => setState((s) => ({ conversationId, pages: (s.conversationId === conversationId ? s.pages : 1) + 1 })),
    [conversationId],
  );
  // Judged on the page that answered: a wider one still loading says nothing yet.
  return { messages: loaded?.messages, loadOlder, hasOlder: !loaded || loaded.messages.length >= loaded.limit };
}
