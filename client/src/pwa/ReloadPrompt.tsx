import { useRegisterSW } from 'virtual:pwa-register/react';
import { useEffect } from 'react';

/** How often an open tab asks for a new deployment; long-lived tabs would otherwise never see one. */
const UPDATE_CHECK_MS = 60 * 60 * 1000;

/**
 * Registers the service worker and asks before switching to a new version: the inbox may hold
 * a half-typed message, so a deployment never reloads the page on its own.
 */
export function ReloadPrompt() {
  const {
    needRefresh: [needRefresh, setNeedRefresh],
    offlineReady: [offlineReady, setOfflineReady],
    updateServiceWorker,
  } = useRegisterSW({
    onRegisteredSW(_url, registration) {
      if (!registration) return;
      setInterval(() => {
        if (navigator.onLine) registration.update().catch(() => {});
      }, UPDATE_CHECK_MS);
    },
    onRegisterError(error) {
      console.warn('service worker registration failed; the app will not open offline', error);
    },
  });

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
