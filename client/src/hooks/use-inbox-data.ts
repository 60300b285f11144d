import { useEffect, useMemo, useSyncExternalStore } from 'react';
import type { ConnectionState, ConversationView, HistoryProgress, MessageView, UnsentWork } from '../inbox-api';
import { useInbox } from './inbox-context';
import { createSwitchingStore } from './observable-store';
import { useObservable } from './use-observable';

/** Conversations, newest activity first; undefined until the replica answered. */
export function useConversations(): ConversationView[] | undefined {
  const inbox = useInbox();
  return useObservable<ConversationView[] | undefined>(() => inbox.conversations$(), undefined, [inbox]);
}

/** Messages of one conversation, oldest first, and the limit they are the answer to. */
export interface MessageWindow {
  messages: MessageView[];
  limit: number;
}

/**
 * The newest `limit` messages of a conversation. A new limit keeps the current messages until
 * its query answers, so a list that loads an older page neither empties nor loses its scroll
 * position; compare `limit` to know whether the answer is for the limit asked. Another
 * conversation starts from undefined: one conversation's messages are never shown for another.
 */
export function useMessageWindow(conversationId: string, limit: number): MessageWindow | undefined {
  const inbox = useInbox();
  const store = useMemo(() => createSwitchingStore((l: number) => inbox.messages$(conversationId, l)), [inbox, conversationId]);
  useEffect(() => store.select(limit), [store, limit]);
  const answer = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  return useMemo(() => (answer ? { messages: answer.value, limit: answer.key } : undefined), [answer]);
}

/** The newest `pageSize` messages of a conversation, oldest first; undefined until loaded (see useMessageWindow). */
export function useMessages(conversationId: string, pageSize: number): MessageView[] | undefined {
  return useMessageWindow(conversationId, pageSize)?.messages;
}

export function useConnectionState(): ConnectionState {
  const inbox = useInbox();
  return useObservable<ConnectionState>(() => inbox.connection$, { status: 'connecting', attempt: 0, pendingWrites: 0 }, [inbox]);
}

/** What signing out would lose (Inbox.unsentWork$); undefined until counted. */
export function useUnsentWork(): UnsentWork | undefined {
  const inbox = useInbox();
  return useObservable<UnsentWork | undefined>(() => inbox.unsentWork$(), undefined, [inbox]);
}

export function useTotalUnread(): number {
  const inbox = useInbox();
  return useObservable(() => inbox.totalUnread$(), 0, [inbox]);
}

export function useIsLeader(): boolean {
  const inbox = useInbox();
  return useObservable(() => inbox.isLeader$, false, [inbox]);
}

/** The older history still loading onto this device; null once all of it is here. */
export function useHistoryProgress(): HistoryProgress | null {
  const inbox = useInbox();
  return useObservable<HistoryProgress | null>(() => inbox.history$(), null, [inbox]);
}
