import { type Observable, of } from 'rxjs';
import type { SyncSocket } from '../sync/socket';

/**
 * The slot for presence and typing. createInbox fills it with createPresenceClient
 * (sync/presence-client.ts) on the tab's own socket; with `presence: null` the inbox reports
 * nobody online and nobody typing.
 */
export interface PresenceClient {
  online$(userId: string): Observable<boolean>;
  typingUsers$(conversationId: string): Observable<string[]>;
  setTyping(conversationId: string, active: boolean): void;
  close?(): void;
}

export type PresenceFactory = (socket: SyncSocket) => PresenceClient;

export const noPresence: PresenceClient = {
  online$: () => of(false),
  typingUsers$: () => of([]),
  setTyping: () => undefined,
};
