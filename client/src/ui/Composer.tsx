import { type FormEvent, type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { LIMITS } from '@fetchwork/shared-schema';
import { useInbox } from '../hooks';
import type { MessageView } from '../inbox-api';
import { cutToLimit } from './text-limit';

export const MAX_LENGTH = LIMITS.contentMaxLength;
/** Typing stops being announced this long after the last keystroke. */
const TYPING_IDLE_MS = 3000;

/** Unsent text per conversation, kept while switching conversations in this tab. */
const drafts = new Map<string, string>();

interface Props {
  conversationId: string;
  recipientName: string;
  editing: MessageView | null;
  onEditDone: () => void;
  /** Called just before a new message is written, so the list can follow it to the bottom. */
  onSending: () => void;
}

export function Composer({ conversationId, recipientName, editing, onEditDone, onSending }: Props) {
  const inbox = useInbox();
  const [text, setText] = useState(() => drafts.get(conversationId) ?? '');
  const [error, setError] = useState<string | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const typingTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const typingActive = useRef(false);
  const counterId = useId();
  const hintId = useId();

  useEffect(() => {
    if (editing) {
      setText(editing.content);
      inputRef.current?.focus();
    } else {
      setText(drafts.get(conversationId) ?? '');
    }
  }, [editing, conversationId]);

  const stopTyping = () => {
    if (typingTimer.current) clearTimeout(typingTimer.current);
    typingTimer.current = null;
    if (typingActive.current) {
      typingActive.current = false;
      inbox.typing(conversationId, false);
    }
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: stop announcing when leaving this conversation
  useEffect(() => stopTyping, [conversationId]);

  const onChange = (value: string) => {
    // maxLength already stops typing past the limit; this also covers paste and autofill.
    const next = cutToLimit(value, MAX_LENGTH);
    setText(next);
    if (!editing) drafts.set(conversationId, next);
    if (!editing && next.length > 0) {
      if (!typingActive.current) {
        typingActive.current = true;
        inbox.typing(conversationId, true);
      }
      if (typingTimer.current) clearTimeout(typingTimer.current);
      typingTimer.current = setTimeout(stopTyping, TYPING_IDLE_MS);
    } else {
      stopTyping();
    }
  };

  const submit = async () => {
    const content = text.trim();
    if (!content || content.length > MAX_LENGTH) return;
    setError(null);
    stopTyping();
    try {
      if (editing) {
        if (content !== editing.content) await inbox.editMessage(editing.id, content);
        setText(drafts.get(conversationId) ?? '');
        onEditDone();
      } else {
        setText('');
        drafts.delete(conversationId);
        onSending();
        await inbox.sendMessage(conversationId, content);
      }
    } catch (err) {
      // The write is local, so this is rare (quota, a closed database); keep the text to retry.
      setText(text);
      setError(err instanceof Error ? err.message : String(err));
    }
    inputRef.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    } else if (e.key === 'Escape' && editing) {
      e.preventDefault();
      onEditDone();
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit();
  };

  const length = text.length;
  const nearLimit = length >= MAX_LENGTH * 0.9;
  return (
    <form className="composer" onSubmit={onSubmit} aria-label={editing ? 'Edit message' : `Message ${recipientName}`}>
      {editing && (
        <div className="composer-editing">
          <span>Editing message</span>
          <button type="button" className="btn btn-small" onClick={onEditDone}>
            Cancel
          </button>
        </div>
      )}
      <div className="composer-row">
        <textarea
          ref={inputRef}
          className="composer-input"
          value={text}
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={onKeyDown}
          onBlur={stopTyping}
          maxLength={MAX_LENGTH}
          rows={1}
          placeholder={editing ? 'Edit your message' : `Message ${recipientName}`}
          aria-label={editing ? 'Edit message' : `Message to ${recipientName}`}
          aria-describedby={`${counterId} ${hintId}`}
        />
        <button type="submit" className="btn btn-primary composer-send" disabled={text.trim().length === 0}>
          {editing ? 'Save' : 'Send'}
        </button>
      </div>
      <div className="composer-footer">
        <span id={hintId} className="muted">
          Enter to {editing ? 'save' : 'send'}, Shift+Enter for a new line{editing ? ', Esc to cancel' : ''}
        </span>
        <span id={counterId} className={`counter${nearLimit ? ' near-limit' : ''}`} data-testid="char-counter">
          {length} / {MAX_LENGTH}
        </span>
      </div>
      {length >= MAX_LENGTH && (
        <p className="composer-limit" role="status">
          You have reached the limit of {MAX_LENGTH} characters.
        </p>
      )}
      {error && (
        <p className="composer-error" role="alert">
          Could not save the message: {error}
        </p>
      )}
    </form>
  );
}
