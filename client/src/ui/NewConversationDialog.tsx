import { type FormEvent, useId, useState } from 'react';
import { useInbox } from '../hooks';
import { DEMO_USERS } from './demo-users';
import { useModalDialog } from './useModalDialog';

/** Same rule as the server's user id validator: letters, digits, _ and -. */
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

interface Props {
  open: boolean;
  onClose: () => void;
  onCreated: (conversationId: string) => void;
}

/**
 * Starts (or finds) a conversation. It is created in the local replica with an id derived from
 * the participants, so doing this offline on two devices still ends in one conversation.
 */
export function NewConversationDialog({ open, onClose, onCreated }: Props) {
  const inbox = useInbox();
  const ref = useModalDialog(open, {
    reset: () => {
      setWho('');
      setJob('');
      setError(null);
    },
  });
  const [who, setWho] = useState('');
  const [job, setJob] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const whoId = useId();
  const jobId = useId();
  const errorId = useId();

  const resolveParticipant = (input: string): string | null => {
    const value = input.trim();
    if (value.includes('@')) {
      const demo = DEMO_USERS.find((u) => u.email === value.toLowerCase());
      return demo ? demo.id : null;
    }
    return ID_PATTERN.test(value) ? value : null;
  };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const participantId = resolveParticipant(who);
    if (!participantId) {
      setError(
        who.includes('@')
          ? 'No directory lookup for this email is available. Enter the person’s user id instead (demo users can be found by email).'
          : 'A user id has only letters, digits, “_” and “-”.',
      );
      return;
    }
    if (participantId === inbox.user.id) {
      setError('That is you. Choose someone else to write to.');
      return;
    }
    const jobValue = job.trim();
    if (jobValue && !ID_PATTERN.test(jobValue)) {
      setError('A job id has only letters, digits, “_” and “-”.');
      return;
    }
    setBusy(true);
    try {
      const id = await inbox.createConversation(participantId, jobValue || null);
      onCreated(id);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={ref} className="dialog" aria-labelledby={`${whoId}-title`} onClose={onClose}>
      <form onSubmit={onSubmit} noValidate>
        <h2 id={`${whoId}-title`}>New conversation</h2>
        <label htmlFor={whoId}>User id or email</label>
        <input
          id={whoId}
          value={who}
          onChange={(e) => setWho(e.target.value)}
          autoComplete="off"
          required
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          placeholder="e.g. 64b000000000000000000b22 or bob@fetchwork.dev"
        />
        <label htmlFor={jobId}>
          Job id <span className="muted">(optional)</span>
        </label>
        <input id={jobId} value={job} onChange={(e) => setJob(e.target.value)} autoComplete="off" />
        {error && (
          <p id={errorId} className="form-error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || who.trim() === ''}>
            Start conversation
          </button>
        </div>
      </form>
    </dialog>
  );
}
