/**
 * Moving this tab to the newest deployed version of the app, for the service worker update flow
 * (ReloadPrompt) and for a server that no longer serves this version (the connection banner's
 * "A new version is available — reload"). No virtual:pwa-register import here, so it runs (and is
 * tested) without vite.
 *
 * Nothing unsent is lost by the reload: unsent messages live in the local replica (IndexedDB), and
 * the new version pushes them when it opens it (client/test/upgrade-required.test.ts).
 */

/** What ReloadPrompt hands over from vite-plugin-pwa's useRegisterSW. */
export interface ServiceWorkerUpdater {
  /** The registration, once known (undefined without a service worker: dev mode, an old browser). */
  registration?: ServiceWorkerRegistration;
  /**
   * Activates the waiting worker; the page reloads once it controls the page
   * (`updateServiceWorker(true)` in prompt mode).
   */
  activateWaiting(): Promise<void>;
}

interface UpdateState {
  updater: ServiceWorkerUpdater | null;
  /** A new worker is installed and waiting (vite-plugin-pwa's needRefresh). */
  waiting: boolean;
  waiters: Set<() => void>;
}

const state: UpdateState = { updater: null, waiting: false, waiters: new Set() };

/** How long a reload for a new version waits for the new worker to install before reloading anyway. */
export const NEW_VERSION_WAIT_MS = 10_000;
/** How long an activated worker has to reload the page itself before this does. */
const ACTIVATION_GRACE_MS = 5_000;

export function provideServiceWorkerUpdater(updater: ServiceWorkerUpdater | null): void {
  state.updater = updater;
}

/** Called when vite-plugin-pwa reports a waiting worker (onNeedRefresh). */
export function newVersionWaiting(): void {
  state.waiting = true;
  for (const wake of [...state.waiters]) wake();
}

/** Asks the server for a newer service worker now (the server said this version is too old). */
export function checkForNewVersion(): void {
  state.updater?.registration?.update().catch(() => undefined);
}

function waitForWaiting(ms: number): Promise<boolean> {
  if (state.waiting) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (found: boolean) => {
      clearTimeout(timer);
      state.waiters.delete(wake);
      resolve(found);
    };
    const wake = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    state.waiters.add(wake);
  });
}

/**
 * Reloads into the newest version: with a service worker, fetches it (if not already waiting),
 * activates it and lets it reload the page, so the reload does not come back to the old cached
 * version; without one (or if no new worker shows up in time) a plain reload, which fetches the
 * page from the network.
 */
export async function reloadToNewVersion(options: { waitMs?: number; reload?: () => void } = {}): Promise<'activated' | 'reloaded'> {
  const reload = options.reload ?? (() => window.location.reload());
  const updater = state.updater;
  if (updater?.registration) {
    try {
      if (!state.waiting) {
        await updater.registration.update();
        await waitForWaiting(options.waitMs ?? NEW_VERSION_WAIT_MS);
      }
      if (state.waiting) {
        await updater.activateWaiting();
        // The new worker reloads the page once it controls it; should that never come (another
        // tab activated it first), reload anyway: the page then comes from the new worker.
        setTimeout(reload, ACTIVATION_GRACE_MS);
        return 'activated';
      }
    } catch {
      // Offline or the update check failed: a plain reload is the best left.
    }
  }
  reload();
  return 'reloaded';
}

/** Tests only. */
export function resetAppUpdateForTests(): void {
  state.updater = null;
  state.waiting = false;
  state.waiters.clear();
}
