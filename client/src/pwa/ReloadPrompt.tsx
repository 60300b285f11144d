import { useRegisterSW } from 'virtual:pwa-register/react';
import { useEffect, useRef } from 'react';
import { installPageBridge } from '../notifications/page-bridge';
import { newVersionWaiting, provideServiceWorkerUpdater } from './app-update';

/** How often an open tab asks for a new deployment; long-lived tabs would otherwise never see one. */
const UPDATE_CHECK_MS = 60 * 60 * 1000;

/**
 * Registers the service worker and asks before switching to a new version: the inbox may hold
 * a half-typed message, so a deployment never reloads the page on its own. It also hands the
 * update flow to app-update.ts, which the connection banner uses when the server asks for a
 * newer version of the app (UPGRADE_REQUIRED).
 */
export function ReloadPrompt() {
  const registrationRef = useRef<ServiceWorkerRegistration | undefined>(undefined);
  const {
    needRefresh: [needRefresh, setNeedRefresh],
    offlineReady: [offlineReady, setOfflineReady],
    updateServiceWorker,
  } = useRegisterSW({
    onRegisteredSW(_url, registration) {
      registrationRef.current = registration;
      if (!registration) return;
      setInterval(() => {
        if (navigator.onLine) registration.update().catch(() => {});
      }, UPDATE_CHECK_MS);
    },
    onNeedRefresh() {
      newVersionWaiting();
    },
    onRegisterError(error) {
      console.warn('service worker registration failed; the app will not open offline', error);
    },
  });

  // The worker's questions (is this conversation on screen? a token?) and notification clicks.
  useEffect(() => installPageBridge(), []);

  useEffect(() => {
    provideServiceWorkerUpdater({
      get registration() {
        return registrationRef.current;
      },
      activateWaiting: () => updateServiceWorker(true),
    });
    return () => provideServiceWorkerUpdater(null);
  }, [updateServiceWorker]);

  // "Ready offline" is good news, not a question: it goes away by itself.
  useEffect(() => {
    if (!offlineReady) return;
    const t = setTimeout(() => setOfflineReady(false), 6000);
    return () => clearTimeout(t);
  }, [offlineReady, setOfflineReady]);

  if (!needRefresh && !offlineReady) return null;
  return (
    <div className="pwa-toast" role={needRefresh ? 'alert' : 'status'}>
      {needRefresh ? (
        <>
          <span>A new version of FetchWork Messaging is available.</span>
          <button type="button" className="btn btn-primary" onClick={() => void updateServiceWorker(true)}>
            Reload
          </button>
          <button type="button" className="btn" onClick={() => setNeedRefresh(false)}>
            Later
          </button>
        </>
      ) : (
        <>
          <span>The inbox is ready to work offline.</span>
          <button type="button" className="btn" onClick={() => setOfflineReady(false)}>
            OK
          </button>
        </>
      )}
    </div>
  );
}
