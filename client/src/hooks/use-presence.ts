import { useInbox } from './inbox-context';
import { useObservable } from './use-observable';

/** False until the presence client reports the user online (always false without one). */
export function useOnline(userId: string): boolean {
  const inbox = useInbox();
  return useObservable(() => inbox.online$(userId), false, [inbox, userId]);
}

/** Ids of the users typing in the conversation; say you are typing with inbox.typing(). */
export function useTyping(conversationId: string): string[] {
  const inbox = useInbox();
  return useObservable(() => inbox.typingUsers$(conversationId), [] as string[], [inbox, conversationId]);
}
