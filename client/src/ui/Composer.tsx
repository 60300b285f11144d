import { LIMITS } from '@fetchwork/shared-schema';
import { type ClipboardEvent, type FormEvent, type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { useInbox } from '../hooks';
import type { MessageView } from '../inbox-api';
import { AttachmentChips } from './AttachmentChips';
import { PaperclipIcon } from './FileIcons';
import { cutToLimit } from './text-limit';
import type { AttachmentDraft } from './useAttachmentDraft';

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
  /** Files for the next message (chosen here, or dropped onto the conversation). */
  attachments: AttachmentDraft;
}

export function Composer({ conversationId, recipientName, editing, onEditDone, onSending, attachments }: Props) {
  const inbox = useInbox();
  const [text, setText] = useState(() => drafts.get(conversationId) ?? '');
  const [error, setError] = useState<string | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const typingTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const typingActive = useRef(false);
  const fileInputRef = useRef<HTMLInputElement>(null);
  const counterId = useId();
  const hintId = useId();
  const files = editing ? [] : attachments.files;

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
    // A file message may go without a caption.
    if ((!content && files.length === 0) || content.length > MAX_LENGTH) return;
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
        if (files.length > 0) {
          await inbox.sendMessageWithFiles(conversationId, content, files);
          attachments.clear();
        } else {
          await inbox.sendMessage(conversationId, content);
        }
      }
    } catch (err) {
      // The write is local, so this is rare (quota, a closed database, a file over the
      // limits); keep the text and the files to retry.
      setText(text);
      setError(err instanceof Error ? err.message : String(err));
    }
    inputRef.current?.focus();
  };

  // Images pasted from the clipboard become attachments; pasted text stays text.
  const onPaste = (e: ClipboardEvent<HTMLTextAreaElement>) => {
    if (editing) return;
    const pasted = [...e.clipboardData.files];
    if (pasted.length === 0) return;
    e.preventDefault();
    attachments.add(
      pasted.map((f, i) => (f.name ? f : new File([f], `pasted-image-${i + 1}.${f.type.split('/')[1] ?? 'png'}`, { type: f.type }))),
    );
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
      <AttachmentChips files={files} onRemove={attachments.remove} />
      <div className="composer-row">
        {!editing && (
          <>
            <button
              type="button"
              className="btn btn-icon composer-attach"
              onClick={() => fileInputRef.current?.click()}
              aria-label="Attach files"
              title="Attach files"
            >
              <PaperclipIcon />
            </button>
            <input
              ref={fileInputRef}
              type="file"
              multiple
              className="sr-only"
              tabIndex={-1}
              aria-hidden="true"
              onChange={(e) => {
                attachments.add(e.target.files ?? []);
                // The same file can be chosen again after it was removed.
                e.target.value = '';
              }}
            />
          </>
        )}
        <textarea
          ref={inputRef}
          className="composer-input"
          value={text}
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
          onBlur={stopTyping}
          maxLength={MAX_LENGTH}
          rows={1}
          placeholder={editing ? 'Edit your message' : `Message ${recipientName}`}
          aria-label={editing ? 'Edit message' : `Message to ${recipientName}`}
          aria-describedby={`${counterId} ${hintId}`}
        />
        <button type="submit" className="btn btn-primary composer-send" disabled={text.trim().length === 0 && files.length === 0}>
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
      {!editing && attachments.error && (
        <p className="composer-error" role="alert">
          {attachments.error}
        </p>
      )}
    </form>
  );
}
