import { createContext, createElement, type ReactNode, useContext } from 'react';
import type { Inbox } from '../inbox-api';

const InboxContext = createContext<Inbox | null>(null);

/** Makes the signed-in user's inbox available to the hooks below it. */
export function InboxProvider({ inbox, children }: { inbox: Inbox; children?: ReactNode }) {
  return createElement(InboxContext.Provider, { value: inbox }, children);
}

export function useInbox(): Inbox {
  const inbox = useContext(InboxContext);
  if (!inbox) throw new Error('useInbox must be used inside <InboxProvider>');
  return inbox;
}
