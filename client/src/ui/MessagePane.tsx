import { useVirtualizer } from '@tanstack/react-virtual';
import { type DragEvent, memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useHistoryProgress, useInbox, useMessageWindow, useOnline, useTyping } from '../hooks';
import type { MessageView } from '../inbox-api';
import { Avatar } from './Avatar';
import { BlockButton, BlockedNote } from './BlockControls';
import { Composer } from './Composer';
import { dayKey, dayLabel, fullDateTime, pluralize, shortId, timeOfDay } from './format';
import { MessageAttachments } from './MessageAttachments';
import { BackgroundSendNote, MuteButton } from './NotificationSettings';
import { refusalText } from './refusal-text';
import { StatusTicks } from './StatusTicks';
import { useAttachmentDraft } from './useAttachmentDraft';
import { useRovingFocus } from './useRovingFocus';

/** Messages are loaded newest first in pages; scrolling up asks the replica for the next page. */
const PAGE = 100;

/**
 * One row per message; the first message of a day carries the day separator. Separators are
 * not rows of their own because the virtualizer keeps its place by row key when older pages
 * are prepended, and a day's separator moves whenever older messages of that day arrive.
 */
interface Row {
  key: string;
  message: MessageView;
  day: { label: string; iso: string } | null;
}

/** What the pane shows of its conversation (not the last message or unread count, which change with every message). */
export interface PaneConversation {
  id: string;
  otherUserId: string;
  otherName: string;
  job: string | null;
}

interface Props {
  conversation: PaneConversation;
  /** A message to bring into view (from search), then forgotten through onFocusHandled. */
  focusMessageId: string | null;
  onFocusHandled: () => void;
  onBack: () => void;
  now: number;
}

/** Memoised: the inbox re-renders for every change to any conversation; the pane only for its own. */
export const MessagePane = memo(function MessagePane({ conversation, focusMessageId, onFocusHandled, onBack, now }: Props) {
  const inbox = useInbox();
  const [limit, setLimit] = useState(PAGE);
  const loaded = useMessageWindow(conversation.id, limit);
  const messages = loaded?.messages;
  const online = useOnline(conversation.otherUserId);
  const otherName = conversation.otherName;
  const typingUsers = useTyping(conversation.id);
  const [editing, setEditing] = useState<MessageView | null>(null);
  const [selecting, setSelecting] = useState(false);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [highlightId, setHighlightId] = useState<string | null>(null);
  const scrollRef = useRef<HTMLDivElement>(null);
  const attachments = useAttachmentDraft(conversation.id);
  const [dragging, setDragging] = useState(false);
  const carriesFiles = (e: DragEvent) => !editing && e.dataTransfer.types.includes('Files');
  const onDragOver = (e: DragEvent) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    setDragging(true);
  };
  const onDragLeave = (e: DragEvent) => {
    // Leaving for a child of the pane is not leaving the pane.
    if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
  };
  const onDrop = (e: DragEvent) => {
    setDragging(false);
    if (!carriesFiles(e)) return;
    e.preventDefault();
    attachments.add(e.dataTransfer.files);
  };

  const rows = useMemo(() => buildRows(messages ?? [], now), [messages, now]);
  // While a wider page loads, the previous one stays on screen; only the answer to the current
  // limit says whether older messages exist.
  const settled = loaded?.limit === limit;
  const hasOlder = (messages?.length ?? 0) >= limit;

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => (rows[i]?.day ? 104 : 64),
    getItemKey: (i) => rows[i]?.key ?? i,
    overscan: 10,
    // Chat behaviour: older pages prepend without moving what is on screen, and new messages
    // keep the view pinned to the bottom only when it already was there.
    anchorTo: 'end',
    followOnAppend: true,
  });
  const roving = useRovingFocus({ count: rows.length, virtualizer, containerRef: scrollRef, initialIndex: Number.MAX_SAFE_INTEGER });

  // Opening a conversation starts at its newest message; older pages load only after that, or
  // the first render (scrolled to the top) would page in the whole history.
  const [ready, setReady] = useState(false);
  useEffect(() => {
    if (!messages || ready || focusMessageId) return;
    if (rows.length > 0) virtualizer.scrollToEnd();
    const frame = requestAnimationFrame(() => setReady(true));
    return () => cancelAnimationFrame(frame);
  }, [messages, ready, rows.length, virtualizer, focusMessageId]);

  // After sending, show the new message even when scrolled up in the history.
  // Keyed on the newest row, not the row count: once the window is full, a new message slides
  // it (the oldest drops out) and the count stays the same.
  // The sent message shows first as an arrival (inbox/arrivals.ts), before its insert ends: it is
  // followed again once stored, when its row renders anew.
  const scrollEndPending = useRef(false);
  const newestRow = rows[rows.length - 1];
  const newestKey = newestRow?.key;
  const newestArriving = newestRow?.message.arriving === true;
  useEffect(() => {
    if (scrollEndPending.current && newestKey !== undefined) {
      if (!newestArriving) scrollEndPending.current = false;
      virtualizer.scrollToEnd();
    }
  }, [newestKey, newestArriving, virtualizer]);

  // Reaching the top loads the next older page.
  const items = virtualizer.getVirtualItems();
  const firstVisible = items[0]?.index ?? 0;
  useEffect(() => {
    if (ready && settled && hasOlder && firstVisible < 3) setLimit((l) => l + PAGE);
  }, [ready, settled, firstVisible, hasOlder]);

  // At the top of what this device holds while the history is still arriving: ask the server
  // for this conversation's older page rather than wait for the walk to get here.
  const historyLoading = useHistoryProgress() !== null;
  const [fromServer, setFromServer] = useState<'idle' | 'loading' | 'exhausted'>('idle');
  useEffect(() => {
    if (!ready || !settled || hasOlder || firstVisible >= 3 || !historyLoading || fromServer !== 'idle') return;
    setFromServer('loading');
    inbox.loadOlderMessages(conversation.id, PAGE).then(
      (more) => setFromServer(more ? 'idle' : 'exhausted'),
      // Offline or refused: the walk brings them later; asking again at once would only spin.
      () => setFromServer('exhausted'),
    );
  }, [ready, settled, hasOlder, firstVisible, historyLoading, fromServer, inbox, conversation.id]);

  // Bring a search hit into view: widen the window until it is loaded, then centre and focus it.
  useEffect(() => {
    if (!focusMessageId || !messages || !settled) return;
    const index = rows.findIndex((r) => r.message.id === focusMessageId);
    if (index >= 0) {
      setReady(true);
      setHighlightId(focusMessageId);
      roving.focusIndex(index, 'center');
      onFocusHandled();
    } else if (hasOlder) {
      setLimit((l) => l * 2);
    } else {
      onFocusHandled();
    }
  }, [focusMessageId, messages, settled, rows, hasOlder, onFocusHandled, roving.focusIndex]);

  useEffect(() => {
    if (!highlightId) return;
    const t = setTimeout(() => setHighlightId(null), 4000);
    return () => clearTimeout(t);
  }, [highlightId]);

  // An open, visible conversation is a read conversation: that is what turns the sender's ticks blue.
  // A message still arriving is marked once the replica has it (its view changes then).
  const unreadIncoming = useMemo(
    () => (messages ?? []).filter((m) => !m.mine && !m.isRead && !m.isDeleted && !m.arriving).map((m) => m.id),
    [messages],
  );
  const unreadKey = unreadIncoming.join(',');
  useEffect(() => {
    if (!unreadKey) return;
    const markIfVisible = () => {
      if (document.visibilityState === 'visible') void inbox.markConversationRead(conversation.id);
    };
    markIfVisible();
    document.addEventListener('visibilitychange', markIfVisible);
    return () => document.removeEventListener('visibilitychange', markIfVisible);
  }, [unreadKey, inbox, conversation.id]);

  const hasPending = useMemo(() => (messages ?? []).some((m) => m.mine && m.status === 'pending'), [messages]);

  // Stable across new messages, so that the bubbles that did not change skip rendering.
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const setActive = roving.setActive;
  const focusMessage = useCallback(
    (id: string) => {
      const index = rowsRef.current.findIndex((r) => r.key === id);
      if (index >= 0) setActive(index);
    },
    [setActive],
  );

  const toggle = useCallback((id: string) => {
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);

  const selectedMessages = (messages ?? []).filter((m) => selected.has(m.id));
  const deletable = selectedMessages.filter((m) => m.mine && !m.isDeleted && !m.arriving).map((m) => m.id);
  const readable = selectedMessages.filter((m) => !m.mine && !m.isRead && !m.arriving).map((m) => m.id);
  const endSelection = () => {
    setSelecting(false);
    setSelected(new Set());
  };

  const typingText =
    typingUsers.length > 0 ? `${typingUsers.includes(conversation.otherUserId) ? otherName : typingUsers.join(', ')} is typing…` : '';

  return (
    <section
      className={`pane${dragging ? ' pane-dropping' : ''}`}
      aria-label={`Conversation with ${otherName}`}
      onDragOver={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
    >
      {dragging && (
        <div className="drop-hint" aria-hidden="true">
          Drop files to attach them
        </div>
      )}
      <header className="pane-header">
        <button type="button" className="btn btn-icon back-button" onClick={onBack} aria-label="Back to conversations">
          ←
        </button>
        <Avatar userId={conversation.otherUserId} name={otherName} online={online} size={36} />
        <div className="pane-title">
          <h2>{otherName}</h2>
          <span className="muted" data-testid="presence">
            {online ? 'Online' : 'Offline'}
            {conversation.job ? ` · Job ${shortId(conversation.job)}` : ''}
          </span>
        </div>
        {!selecting && <MuteButton conversationId={conversation.id} />}
        {!selecting && <BlockButton userId={conversation.otherUserId} name={otherName} />}
        {selecting ? (
          <div className="selection-bar" role="toolbar" aria-label="Selected messages">
            <span aria-live="polite">{pluralize(selected.size, 'selected message')}</span>
            <button
              type="button"
              className="btn btn-small"
              disabled={readable.length === 0}
              onClick={() => void inbox.markRead(readable).then(endSelection)}
            >
              Mark read
            </button>
            <button
              type="button"
              className="btn btn-small btn-danger"
              disabled={deletable.length === 0}
              onClick={() => void inbox.deleteMessages(deletable).then(endSelection)}
            >
              Delete{deletable.length > 0 && deletable.length < selected.size ? ` ${deletable.length} of mine` : ''}
            </button>
            <button type="button" className="btn btn-small" onClick={endSelection}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" className="btn btn-small" onClick={() => setSelecting(true)} disabled={!messages || messages.length === 0}>
            Select
          </button>
        )}
      </header>

      {/* biome-ignore lint/a11y/noStaticElementInteractions: arrow keys pressed on the focusable messages bubble up here (one handler for a virtualised list) */}
      <div ref={scrollRef} className="message-scroll" onKeyDown={roving.onKeyDown}>
        {messages && messages.length === 0 && !historyLoading && <p className="empty-pane">No messages yet. Say hello!</p>}
        {fromServer === 'loading' && (
          <p className="older-loading" role="status">
            Loading older messages…
          </p>
        )}
        <ul className="message-list" aria-label={`Messages with ${otherName}`} style={{ height: virtualizer.getTotalSize() }}>
          {items.map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            return (
              <li
                key={item.key}
                data-index={item.index}
                ref={virtualizer.measureElement}
                className="message-row"
                style={{ transform: `translateY(${item.start}px)` }}
              >
                {row.day && (
                  <div className="day-separator">
                    <time dateTime={row.day.iso}>{row.day.label}</time>
                  </div>
                )}
                <MessageBubble
                  message={row.message}
                  tabbable={item.index === roving.activeIndex}
                  highlighted={row.message.id === highlightId}
                  selecting={selecting}
                  checked={selected.has(row.message.id)}
                  onToggle={toggle}
                  onEdit={setEditing}
                  onFocusMessage={focusMessage}
                />
              </li>
            );
          })}
        </ul>
      </div>

      <div className="typing-slot" data-testid="typing">
        {typingText}
      </div>
      <BackgroundSendNote pending={hasPending} />
      <BlockedNote userId={conversation.otherUserId} name={otherName} />
      <Composer
        conversationId={conversation.id}
        recipientName={otherName}
        editing={editing}
        onEditDone={() => setEditing(null)}
        onSending={() => {
          scrollEndPending.current = true;
        }}
        attachments={attachments}
      />
    </section>
  );
});

function messageTime(m: MessageView): string {
  return m.sentAt ?? m.createdAt;
}

function buildRows(messages: readonly MessageView[], now: number): Row[] {
  const rows: Row[] = [];
  let lastDay = '';
  for (const m of messages) {
    const iso = messageTime(m);
    const day = dayKey(iso);
    rows.push({ key: m.id, message: m, day: day !== lastDay ? { label: dayLabel(iso, now), iso } : null });
    lastDay = day;
  }
  return rows;
}

interface BubbleProps {
  message: MessageView;
  tabbable: boolean;
  highlighted: boolean;
  selecting: boolean;
  checked: boolean;
  onToggle: (id: string) => void;
  onEdit: (m: MessageView) => void;
  onFocusMessage: (id: string) => void;
}

const MessageBubble = memo(function MessageBubble({
  message: m,
  tabbable,
  highlighted,
  selecting,
  checked,
  onToggle,
  onEdit,
  onFocusMessage,
}: BubbleProps) {
  const onFocus = () => onFocusMessage(m.id);
  const inbox = useInbox();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const time = messageTime(m);
  const tab = tabbable ? 0 : -1;
  const canChange = m.mine && !m.isDeleted && m.status !== 'failed' && !m.arriving;
  return (
    <div
      className={`message ${m.mine ? 'mine' : 'theirs'}${highlighted ? ' highlighted' : ''}${m.isDeleted ? ' deleted' : ''}`}
      data-message-id={m.id}
      data-status={m.status}
    >
      {selecting && (
        <input
          type="checkbox"
          className="row-check"
          checked={checked}
          onChange={() => onToggle(m.id)}
          tabIndex={tab}
          aria-label="Select message"
        />
      )}
      {/* biome-ignore lint/a11y/noStaticElementInteractions: focus (by Tab or a click) only moves the list's roving tab stop here */}
      <div className="bubble" data-roving tabIndex={tab} onFocus={onFocus} aria-current={highlighted ? 'true' : undefined}>
        <span className="sr-only">{m.mine ? 'You: ' : ''}</span>
        {m.isDeleted ? (
          <p className="content deleted-marker">This message was deleted</p>
        ) : (
          <>
            {m.attachments.length > 0 && <MessageAttachments message={m} tabIndex={tab} />}
            {(m.content || m.attachments.length === 0) && <p className="content">{m.content}</p>}
          </>
        )}
        <span className="meta">
          {m.isEdited && !m.isDeleted && (
            <span className="edited-marker" title={m.editedAt ? `Edited ${fullDateTime(m.editedAt)}` : 'Edited'}>
              edited
            </span>
          )}
          <time dateTime={time} title={fullDateTime(time)}>
            {timeOfDay(time)}
          </time>
          {m.mine && <StatusTicks status={m.status} />}
        </span>
      </div>
      {m.status === 'failed' && m.mine && (
        <div className="message-failed" role="alert">
          <span title={m.failure?.message}>Not sent{m.failure ? `: ${refusalText(m.failure)}` : ''}</span>
          <button type="button" className="btn btn-small" tabIndex={tab} onClick={() => void inbox.retryMessage(m.id)}>
            Retry
          </button>
          <button type="button" className="btn btn-small" tabIndex={tab} onClick={() => void inbox.discardMessage(m.id)}>
            Discard
          </button>
        </div>
      )}
      {canChange && !selecting && (
        <div className="message-actions">
          {confirmDelete ? (
            <>
              <span>Delete for everyone?</span>
              <button type="button" className="btn btn-small btn-danger" tabIndex={tab} onClick={() => void inbox.deleteMessage(m.id)}>
                Delete
              </button>
              <button type="button" className="btn btn-small" tabIndex={tab} onClick={() => setConfirmDelete(false)}>
                Keep
              </button>
            </>
          ) : (
            <>
              <button type="button" className="btn btn-small" tabIndex={tab} onClick={() => onEdit(m)} aria-label="Edit message">
                Edit
              </button>
              <button
                type="button"
                className="btn btn-small"
                tabIndex={tab}
                onClick={() => setConfirmDelete(true)}
                aria-label="Delete message"
              >
                Delete
              </button>
            </>
          )}
        </div>
      )}
    </div>
  );
});
