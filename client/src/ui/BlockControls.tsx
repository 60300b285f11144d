import { useEffect, useId, useRef, useState } from 'react';
import { useBlocked, useBlocks, useConnectionState } from '../hooks';
import type { InboxBlocks } from '../inbox-api';
import { useModalDialog } from './useModalDialog';
import './blocks.css';

const NEEDS_CONNECTION = 'Blocking and unblocking need a connection.';

function failureText(err: unknown): string {
  const code = (err as { code?: string } | null)?.code;
  if (code === 'NETWORK') return `${NEEDS_CONNECTION} Try again when you are online.`;
  return `That did not work: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * The conversation header's Block (with a confirm step) or Unblock. Both act on the server at
 * once (nothing is queued), so offline the button stays focusable and says why it does nothing.
 */
export function BlockButton({ userId, name }: { userId: string; name: string }) {
  const blocks = useBlocks();
  const blocked = useBlocked(userId);
  const connection = useConnectionState();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const noteId = useId();
  const connected = connection.status === 'online' || connection.status === 'syncing';

  useEffect(() => {
    if (connected) setNote(null);
  }, [connected]);

  if (!blocks) return null;

  const unblock = async () => {
    setBusy(true);
    try {
      await blocks.unblock(userId);
      setNote(null);
    } catch (err) {
      setNote(failureText(err));
    } finally {
      setBusy(false);
    }
  };

  const onClick = () => {
    if (!connected) {
      setNote(NEEDS_CONNECTION);
      return;
    }
    if (blocked) void unblock();
    else setConfirming(true);
  };

  return (
    <>
      <button
        type="button"
        className="btn btn-small block-button"
        aria-disabled={!connected || busy}
        aria-describedby={note ? noteId : undefined}
        title={connected ? undefined : NEEDS_CONNECTION}
        onClick={busy ? undefined : onClick}
      >
        {blocked ? 'Unblock' : 'Block'}
        <span className="sr-only"> {name}</span>
      </button>
      {note && (
        <p id={noteId} className="block-note" role="status">
          {note}
        </p>
      )}
      <BlockDialog blocks={blocks} userId={userId} name={name} open={confirming} onClose={() => setConfirming(false)} />
    </>
  );
}

interface DialogProps {
  blocks: InboxBlocks;
  userId: string;
  name: string;
  open: boolean;
  onClose: () => void;
}

/** A native modal <dialog> like SignOutDialog: the page behind is inert, Escape cancels. */
function BlockDialog({ blocks, userId, name, open, onClose }: DialogProps) {
  const ref = useModalDialog(open, {
    reset: () => setError(null),
    // The safe choice first: a stray Enter must not block someone.
    focus: () => cancel.current,
  });
  const cancel = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const titleId = useId();
  const textId = useId();

  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await blocks.block(userId);
      onClose();
    } catch (err) {
      setError(failureText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={ref} className="dialog block-dialog" aria-labelledby={titleId} aria-describedby={textId} onClose={onClose}>
      <h2 id={titleId}>Block {name}?</h2>
      <div id={textId}>
        <p>
          {name} will not be able to send you messages or start conversations with you, and neither of you will see the other online or
          typing. You cannot write to them either until you unblock them.
        </p>
        <p className="muted">Your messages so far stay. {name} is not told, but will see that their messages are refused.</p>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="dialog-actions">
        <button ref={cancel} type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="btn btn-danger" disabled={busy} onClick={() => void confirm()}>
          {busy ? 'Blocking…' : 'Block'}
        </button>
      </div>
    </dialog>
  );
}

/** The conversation list's sign of a blocked contact. */
export function BlockedMark({ userId }: { userId: string }) {
  const blocked = useBlocked(userId);
  if (!blocked) return null;
  return (
    <span className="blocked-mark" data-testid="blocked-mark">
      <span aria-hidden="true">Blocked</span>
      <span className="sr-only">, blocked</span>
    </span>
  );
}

/** Above the composer while blocked: why nothing will go through. */
export function BlockedNote({ userId, name }: { userId: string; name: string }) {
  const blocked = useBlocked(userId);
  if (!blocked) return null;
  return (
    <p className="blocked-note" data-testid="blocked-note">
      You blocked {name}. No messages pass between you until you unblock them.
    </p>
  );
}
