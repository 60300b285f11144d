import { useId, useState } from 'react';
import { useConnectionState } from '../hooks';
import type { NotificationsController } from '../notifications/controller';
import type { PushAvailability } from '../notifications/push-subscription';
import { useMuted, useNotificationSettings, useNotifications, usePromptWanted, usePushAvailability } from '../notifications/react';
import { useModalDialog } from './useModalDialog';
import './notifications.css';

function BellIcon({ off = false }: { off?: boolean }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false" className="bell-icon">
      <path
        d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
        fill="currentColor"
      />
      {off && <path d="M3 3l18 18" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" />}
    </svg>
  );
}

/** What this device can do, in the user's words. */
function deviceText(state: PushAvailability | null): string {
  switch (state) {
    case 'on':
      return 'Notifications are on for this device.';
    case 'off':
      return 'Get a notification on this device when a message arrives while FetchWork is closed or in the background.';
    case 'denied':
      return 'Notifications are blocked for this site in your browser. Allow them in the site settings to turn them on.';
    case 'not-kept':
      return 'Notifications need “Keep me signed in on this device” (sign out, then sign in with it ticked): without it they could reach whoever uses this browser after you.';
    case 'server-disabled':
      return 'This FetchWork server does not send notifications.';
    case 'unsupported':
      return 'This browser cannot show notifications from FetchWork. On iPhone and iPad, add FetchWork to the Home Screen and open it from there.';
    default:
      return 'Checking this device…';
  }
}

/** Asks for the browser's permission (from this click only) and subscribes; a refusal is said, not thrown. */
async function turnOn(n: NotificationsController): Promise<string | null> {
  try {
    const result = await n.enablePush();
    if (result === 'denied') return 'Notifications are blocked for this site in your browser.';
    if (result === 'off') return 'Notifications were not allowed.';
    return null;
  } catch (err) {
    return `Notifications could not be turned on: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export function BackgroundSendText({ mode }: { mode: NotificationsController['backgroundSend'] }) {
  return mode === 'background' ? (
    <>Messages you write offline are sent as soon as you are back online, even if you have closed FetchWork.</>
  ) : (
    <>Messages you write offline will send when you open FetchWork again while online (this browser cannot send them in the background).</>
  );
}

/** The topbar's bell: this device's notifications, private previews, background send. */
export function NotificationsButton() {
  const n = useNotifications();
  const [open, setOpen] = useState(false);
  if (!n) return null;
  return (
    <>
      <button
        type="button"
        className="btn btn-icon"
        aria-label="Notification settings"
        aria-haspopup="dialog"
        onClick={() => setOpen(true)}
      >
        <BellIcon />
      </button>
      <NotificationSettingsDialog n={n} open={open} onClose={() => setOpen(false)} />
    </>
  );
}

function NotificationSettingsDialog({ n, open, onClose }: { n: NotificationsController; open: boolean; onClose: () => void }) {
  const ref = useModalDialog(open, { reset: () => setError(null) });
  const titleId = useId();
  const previewsId = useId();
  const previewsHintId = useId();
  const settings = useNotificationSettings();
  const push = usePushAvailability();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async (action: () => Promise<string | null>) => {
    setBusy(true);
    setError(await action());
    setBusy(false);
  };

  return (
    <dialog ref={ref} className="dialog notification-dialog" aria-labelledby={titleId} onClose={onClose}>
      <h2 id={titleId}>Notifications</h2>
      <section aria-label="This device">
        <p data-testid="push-state" data-state={push ?? 'checking'}>
          {deviceText(push)}
        </p>
        {push === 'off' && (
          <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void run(() => turnOn(n))}>
            Turn on notifications
          </button>
        )}
        {push === 'on' && (
          <button
            type="button"
            className="btn"
            disabled={busy}
            onClick={() =>
              void run(() =>
                n.disablePush().then(
                  () => null,
                  (err: unknown) => `Could not turn off: ${String(err)}`,
                ),
              )
            }
          >
            Turn off on this device
          </button>
        )}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </section>
      <div className="notification-option">
        <input
          id={previewsId}
          type="checkbox"
          checked={settings?.previews === 'private'}
          aria-describedby={previewsHintId}
          onChange={(e) => void n.setPreviews(e.target.checked)}
        />
        <label htmlFor={previewsId}>Private previews</label>
        <p id={previewsHintId} className="muted notification-hint">
          Notifications show who wrote, and “New message” instead of the text. For all your devices.
        </p>
      </div>
      <p className="muted">
        <BackgroundSendText mode={n.backgroundSend} />
      </p>
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
      </div>
    </dialog>
  );
}

/**
 * The moment to ask: after the user has sent a message from this device, once. Never on first
 * load; the browser's permission prompt only follows the click on "Turn on notifications".
 */
export function NotificationPrompt() {
  const n = useNotifications();
  const wanted = usePromptWanted();
  const [error, setError] = useState<string | null>(null);
  if (!n || (!wanted && !error)) return null;
  return (
    <section className="banner banner-info notification-prompt" aria-label="Turn on notifications">
      <span className="banner-text">
        {error ?? 'Want to know when they answer? FetchWork can notify you on this device, even when it is closed.'}
      </span>
      {!error && (
        <button
          type="button"
          className="btn btn-small btn-primary"
          onClick={() =>
            void turnOn(n).then((problem) => {
              // Asked once: whatever the answer, the banner does not come back.
              n.dismissPrompt();
              setError(problem);
            })
          }
        >
          Turn on notifications
        </button>
      )}
      <button
        type="button"
        className="btn btn-small"
        onClick={() => {
          n.dismissPrompt();
          setError(null);
        }}
      >
        {error ? 'OK' : 'Not now'}
      </button>
    </section>
  );
}

/** Mutes the conversation on all the user's devices (conversation header). */
export function MuteButton({ conversationId }: { conversationId: string }) {
  const n = useNotifications();
  const muted = useMuted(conversationId);
  if (!n) return null;
  return (
    <button
      type="button"
      className="btn btn-small mute-button"
      aria-pressed={muted}
      title={muted ? 'Muted: no notifications from this conversation' : 'Mute notifications from this conversation'}
      onClick={() => void n.setMuted(conversationId, !muted)}
    >
      <BellIcon off={muted} />
      Mute
    </button>
  );
}

/** The conversation list's sign of a muted conversation. */
export function MutedMark({ conversationId }: { conversationId: string }) {
  const muted = useMuted(conversationId);
  if (!muted) return null;
  return (
    <span className="muted-mark" title="Muted" data-testid="muted-mark">
      <BellIcon off />
      <span className="sr-only">, muted</span>
    </span>
  );
}

/** Under the messages while offline with some unsent: when they will go. */
export function BackgroundSendNote({ pending }: { pending: boolean }) {
  const n = useNotifications();
  const connection = useConnectionState();
  const offline = connection.status === 'offline' || connection.status === 'connecting';
  if (!n || !pending || !offline) return null;
  return (
    <p className="background-send-note" data-testid="background-send-note" data-mode={n.backgroundSend}>
      <BackgroundSendText mode={n.backgroundSend} />
    </p>
  );
}
