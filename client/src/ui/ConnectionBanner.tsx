import { useEffect, useState } from 'react';
import type { ConnectionState } from '../inbox-api';
import { checkForNewVersion, reloadToNewVersion } from '../pwa/app-update';
import { pluralize } from './format';

/**
 * One line that always says whether what the user types will reach the other side now or
 * later. Rendered even when online (empty) so the live region exists before its first change.
 */
export function ConnectionBanner({ state, onSignInAgain }: { state: ConnectionState; onSignInAgain: () => void }) {
  const { text, tone, action } = describe(state);
  const [reloading, setReloading] = useState(false);
  // The server wants a newer app: fetch the new service worker now, so the reload is quick.
  useEffect(() => {
    if (action === 'reload') checkForNewVersion();
  }, [action]);
  return (
    <div className={`banner banner-${tone}`} role="status" aria-live="polite" data-connection={state.status} hidden={!text}>
      {text && <span className="banner-text">{text}</span>}
      {action === 'sign-in' && (
        <button type="button" className="btn btn-small" onClick={onSignInAgain}>
          Sign in again
        </button>
      )}
      {action === 'reload' && (
        <button
          type="button"
          className="btn btn-small"
          disabled={reloading}
          onClick={() => {
            setReloading(true);
            void reloadToNewVersion();
          }}
        >
          {reloading ? 'Reloading…' : 'Reload'}
        </button>
      )}
    </div>
  );
}

// pendingWrites counts messages (however often each was edited), so that is the unit shown.
function pendingText(n: number): string {
  return n > 0 ? ` ${pluralize(n, 'message')} will be sent when you reconnect.` : '';
}

function describe(state: ConnectionState): { text: string; tone: 'none' | 'info' | 'warn' | 'error'; action?: 'sign-in' | 'reload' } {
  switch (state.status) {
    case 'online':
      return { text: '', tone: 'none' };
    case 'offline':
      return { text: `You are offline. You can keep reading and writing.${pendingText(state.pendingWrites)}`, tone: 'warn' };
    case 'connecting':
      return {
        text:
          state.attempt > 1
            ? `Reconnecting… (attempt ${state.attempt})${pendingText(state.pendingWrites)}`
            : `Connecting…${pendingText(state.pendingWrites)}`,
        tone: 'info',
      };
    case 'syncing': {
      if (state.initialSync && !state.initialSync.done) {
        return { text: `Loading your inbox… ${pluralize(state.initialSync.received, 'item')} received`, tone: 'info' };
      }
      if (state.pendingWrites > 0) return { text: `Syncing ${pluralize(state.pendingWrites, 'message')}…`, tone: 'info' };
      return { text: 'Syncing…', tone: 'info' };
    }
    case 'error':
      if (state.reason === 'unauthorized') {
        return { text: 'Your session has expired. Your messages are kept on this device.', tone: 'error', action: 'sign-in' };
      }
      if (state.reason === 'upgrade-required') {
        const kept = state.pendingWrites > 0 ? ` ${pluralize(state.pendingWrites, 'unsent message')} will be sent after the reload.` : '';
        return { text: `A new version is available — reload to keep syncing.${kept}`, tone: 'error', action: 'reload' };
      }
      return { text: `Sync stopped: ${state.reason}.${pendingText(state.pendingWrites)}`, tone: 'error' };
  }
}
