/**
 * Messages between the service worker and the app's pages. Requests carry a MessagePort for the
 * answer; a page that does not answer in time counts as not showing anything.
 */

/** Worker → page: which conversation do you show in a visible, focused window (or null)? */
export interface ShownConversationRequest {
  type: 'fetchwork:shown-conversation';
}
export interface ShownConversationAnswer {
  conversationId: string | null;
}

/** Worker → page: the access token you use, if any (spares a refresh while the app is open). */
export interface AccessTokenRequest {
  type: 'fetchwork:access-token';
}
export interface AccessTokenAnswer {
  token: string | null;
  userId: string | null;
}

/** Worker → page: the user clicked a notification of this conversation. */
export interface OpenConversationMessage {
  type: 'fetchwork:open-conversation';
  conversationId: string;
}

export type WorkerToPageMessage = ShownConversationRequest | AccessTokenRequest | OpenConversationMessage;

export function isWorkerMessage(data: unknown): data is WorkerToPageMessage {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { type?: unknown }).type === 'string' &&
    (data as { type: string }).type.startsWith('fetchwork:')
  );
}
