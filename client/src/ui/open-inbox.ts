import type { Session } from '../auth/session';
import { API_URL } from '../config';
import type { InboxHandle } from '../inbox/create-inbox';

/**
 * Opens the signed-in user's replica. The data layer is loaded on demand so the sign-in screen
 * does not wait for RxDB; dev-mode is only ever imported in development (the production build
 * drops the branch, and vite.config.ts fails the build if it did not).
 */
export async function openInbox(session: Session): Promise<InboxHandle> {
  const [{ createInbox }, { createPresenceClient }, devMode] = await Promise.all([
    import('../inbox/create-inbox'),
    import('../sync/presence-client'),
    import.meta.env.DEV ? import('../db/dev-mode').then((m) => m.devModeKit) : Promise.resolve(undefined),
  ]);
  return createInbox({
    user: session.user,
    serverUrl: API_URL,
    getToken: () => session.token,
    devMode,
    presence: (socket) => createPresenceClient(socket),
  });
}
