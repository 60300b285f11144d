import { useEffect, useId, useRef, useState } from 'react';
import { useConnectionState, useUnsentWork } from '../hooks';
import type { ConnectionState, UnsentWork } from '../inbox-api';
import { useModalDialog } from './useModalDialog';

interface Props {
  open: boolean;
  /** Back to the inbox, nothing changed. */
  onCancel: () => void;
  /** Sign out now: everything of this user on this device is deleted, unsent work included. */
  onSignOut: () => void;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** "2 messages and 1 file have not been sent." */
export function unsentSentence(work: UnsentWork): string {
  const messages = work.messages + work.refused;
  const parts = [plural(messages, 'message', 'messages')];
  if (work.files > 0) parts.push(plural(work.files, 'file', 'files'));
  return `${parts.join(' and ')} ${messages + work.files === 1 ? 'has' : 'have'} not been sent.`;
}

function waitingFor(connection: ConnectionState): string | null {
  if (connection.status === 'error') {
    return connection.reason === 'unauthorized' ? 'Your session has expired: they cannot be sent until you sign in again.' : null;
  }
  if (connection.status === 'offline' || connection.status === 'connecting') return 'Waiting for a connection…';
  return null;
}

/**
 * Shown when signing out would lose messages or files this device has not sent: send them
 * first (the dialog waits, with progress, and signs out once they are out; cancellable), discard
 * them and sign out, or cancel. A native modal <dialog> like NewConversationDialog: the page
 * behind is inert (focus stays in the dialog), Escape cancels (also while waiting).
 */
export function SignOutDialog({ open, onCancel, onSignOut }: Props) {
  const work = useUnsentWork();
  const connection = useConnectionState();
  const ref = useModalDialog(open, {
    reset: () => setSending(null),
    focus: () => (first.current && !first.current.disabled ? first.current : cancel.current),
  });
  const first = useRef<HTMLButtonElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  /** While sending first: how many messages there were to send when it began. */
  const [sending, setSending] = useState<{ total: number } | null>(null);
  const titleId = useId();
  const textId = useId();

  // The button that started it is gone: keep the focus in the dialog.
  useEffect(() => {
    if (sending) cancel.current?.focus();
  }, [sending]);

  // Everything that could go has gone: sign out, or show what is left (refused messages).
  useEffect(() => {
    if (!sending || !work || work.messages > 0) return;
    if (work.refused === 0) onSignOut();
    else setSending(null);
  }, [sending, work, onSignOut]);

  const startSending = () => {
    if (work) setSending({ total: work.messages });
  };

  const canSend = !!work && work.messages > 0;
  const waiting = waitingFor(connection);
  return (
    <dialog ref={ref} className="dialog sign-out-dialog" aria-labelledby={titleId} aria-describedby={textId} onClose={onCancel}>
      <h2 id={titleId}>{sending ? 'Sending before you sign out' : 'Sign out?'}</h2>
      {sending && work ? (
        <div id={textId}>
          <p role="status">
            {sending.total - Math.min(work.messages, sending.total)} of {plural(sending.total, 'message', 'messages')} sent
            {work.files > 0 ? ` (${plural(work.files, 'file', 'files')} still to upload)` : ''}.
          </p>
          <progress className="sign-out-progress" max={sending.total} value={sending.total - Math.min(work.messages, sending.total)}>
            {sending.total - work.messages} of {sending.total}
          </progress>
          {waiting && <p className="muted">{waiting}</p>}
          <p className="muted">You are signed out as soon as they are sent.</p>
        </div>
      ) : (
        <div id={textId}>
          <p className="dialog-warning">{work ? unsentSentence(work) : 'Checking for messages that have not been sent…'}</p>
          {work && work.refused > 0 && (
            <p>
              {plural(work.refused, 'message was', 'messages were')} refused and will not be sent as{' '}
              {work.refused === 1 ? 'it is' : 'they are'}.
            </p>
          )}
          <p>Signing out removes them from this browser, with everything else of yours stored here.</p>
        </div>
      )}
      <div className="dialog-actions">
        <button ref={cancel} type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="btn btn-danger" onClick={onSignOut}>
          Discard and sign out
        </button>
        {!sending && (
          <button ref={first} type="button" className="btn btn-primary" disabled={!canSend} onClick={startSending}>
            Send first
          </button>
        )}
      </div>
    </dialog>
  );
}
