import { API_URL, UPLOAD_CHUNK_BYTES } from '../config';
import type { InboxHandle } from '../inbox/create-inbox';
import type { SessionUser } from '../inbox-api';

/**
 * Opens the signed-in user's replica. The data layer is loaded on demand so the sign-in screen
 * does not wait for RxDB; dev-mode is only ever imported in development (the production build
 * drops the branch, and vite.config.ts fails the build if it did not).
 */
export async function openInbox(
  user: SessionUser,
  getToken: () => Promise<string | null>,
  session: { deviceKey: string | null; persistent: boolean },
): Promise<InboxHandle> {
  const [{ createInbox }, { createPresenceClient }, devMode] = await Promise.all([
    import('../inbox/create-inbox'),
    import('../sync/presence-client'),
    import.meta.env.DEV ? import('../db/dev-mode').then((m) => m.devModeKit) : Promise.resolve(undefined),
  ]);
  requestPersistentStorage();
  return createInbox({
    user,
    serverUrl: API_URL,
    getToken,
    // Without a device key (a session from before rotating sessions) the worker can only use an open page's token.
    notifications: { deviceKey: session.deviceKey, deviceKept: session.persistent },
    devMode,
    presence: (socket) => createPresenceClient(socket),
    ...(UPLOAD_CHUNK_BYTES ? { files: { upload: { chunkSize: UPLOAD_CHUNK_BYTES } } } : {}),
  });
}

/**
 * The replica holds the user's whole history (recent-first sync fills it in behind): ask the
 * browser not to evict it under storage pressure. Granted silently for installed PWAs and
 * engaged sites in Chromium; where refused, the replica is best-effort storage and an evicted
 * one bootstraps again at the next start.
 */
function requestPersistentStorage(): void {
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
  if (!storage?.persist) return;
  void storage
    .persisted()
    .then((already) => (already ? true : storage.persist()))
    .catch(() => false);
}
