import type { ConnectionState, ConversationView, MessageView } from '../inbox-api';
import { useInbox } from './inbox-context';
import { useObservable } from './use-observable';

/** Conversations, newest activity first; undefined until the replica answered. */
export function useConversations(): ConversationView[] | undefined {
  const inbox = useInbox();
  return useObservable<ConversationView[] | undefined>(() => inbox.conversations$(), undefined, [inbox]);
}

/** The newest `pageSize` messages of a conversation, oldest first; undefined until loaded. */
export function useMessages(conversationId: string, pageSize: number): MessageView[] | undefined {
  const inbox = useInbox();
  return useObservable<MessageView[] | undefined>(() => inbox.messages$(conversationId, pageSize), undefined, [
    inbox,
    conversationId,
    pageSize,
  ]);
}

export function useConnectionState(): ConnectionState {
  const inbox = useInbox();
  return useObservable<ConnectionState>(() => inbox.connection$, { status: 'connecting', attempt: 0, pendingWrites: 0 }, [inbox]);
}

export function useTotalUnread(): number {
  const inbox = useInbox();
  return useObservable(() => inbox.totalUnread$(), 0, [inbox]);
}

export function useIsLeader(): boolean {
  const inbox = useInbox();
  return useObservable(() => inbox.isLeader$, false, [inbox]);
}
