import { BehaviorSubject, type Observable } from 'rxjs';
import { type AccessTokenAnswer, isWorkerMessage, type ShownConversationAnswer } from '../sw/messages';

/**
 * The page's side of the service worker's questions (sw/messages.ts): which conversation this
 * window shows to a user looking at it, the access token it uses, and "open this conversation"
 * after a notification click. Installed once per page, before sign-in too (ReloadPrompt).
 */

const openConversation = new BehaviorSubject<string | null>(null);
let tokenSource: (() => Promise<AccessTokenAnswer>) | null = null;
let installed = false;

/** InboxScreen reports the conversation it shows (null: the list). */
export function reportOpenConversation(conversationId: string | null): void {
  if (openConversation.value !== conversationId) openConversation.next(conversationId);
}

export const openConversation$: Observable<string | null> = openConversation.asObservable();

/** The open conversation, if a user is looking at it: the window is visible and has focus. */
export function shownConversation(): string | null {
  if (typeof document === 'undefined') return null;
  return document.visibilityState === 'visible' && document.hasFocus() ? openConversation.value : null;
}

/** The inbox of the signed-in user provides its token; returns the undo. */
export function provideAccessToken(source: () => Promise<AccessTokenAnswer>): () => void {
  tokenSource = source;
  return () => {
    if (tokenSource === source) tokenSource = null;
  };
}

/** The app's own route for a conversation (InboxScreen follows hashchange). */
export function showConversation(conversationId: string): void {
  const hash = `#/c/${encodeURIComponent(conversationId)}`;
  if (location.hash !== hash) location.hash = hash;
  window.focus();
}

export function installPageBridge(): void {
  if (installed || typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return;
  installed = true;
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent) => {
    const data: unknown = event.data;
    if (!isWorkerMessage(data)) return;
    const reply = event.ports[0];
    switch (data.type) {
      case 'fetchwork:shown-conversation':
        reply?.postMessage({ conversationId: shownConversation() } satisfies ShownConversationAnswer);
        break;
      case 'fetchwork:access-token': {
        const source = tokenSource;
        const none: AccessTokenAnswer = { token: null, userId: null };
        void (source ? source().catch(() => none) : Promise.resolve(none)).then((answer) => reply?.postMessage(answer));
        break;
      }
      case 'fetchwork:open-conversation':
        showConversation(data.conversationId);
        break;
    }
  });
  // Messages the worker sent before this listener existed are delivered from here on.
  navigator.serviceWorker.startMessages();
}
