import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useRef } from 'react';
import { useOnline } from '../hooks';
import type { ConversationView } from '../inbox-api';
import { Avatar } from './Avatar';
import { BlockedMark } from './BlockControls';
import { fullDateTime, relativeTime, shortId } from './format';
import { MutedMark } from './NotificationSettings';
import { contactName } from './participant-name';
import { StatusTicks } from './StatusTicks';
import { useRovingFocus } from './useRovingFocus';

const ROW_HEIGHT = 76;

interface Props {
  conversations: ConversationView[];
  openId: string | null;
  onOpen: (id: string) => void;
  selecting: boolean;
  selected: ReadonlySet<string>;
  onToggle: (id: string) => void;
  now: number;
}

/** Newest first, virtualised: 10,000 conversations cost as much DOM as the dozen on screen. */
export function ConversationList({ conversations, openId, onOpen, selecting, selected, onToggle, now }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: conversations.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    getItemKey: (i) => conversations[i]?.id ?? i,
    overscan: 6,
  });
  const roving = useRovingFocus({ count: conversations.length, virtualizer, containerRef: scrollRef });
  const { setActive } = roving;
  // One handler for every row, so that a memoised row whose conversation did not change skips rendering.
  const openAt = useCallback(
    (index: number, id: string) => {
      setActive(index);
      onOpen(id);
    },
    [setActive, onOpen],
  );

  // Keep the tab stop on the open conversation as the list re-sorts under it.
  const openIndex = openId ? conversations.findIndex((c) => c.id === openId) : -1;
  useEffect(() => {
    if (openIndex >= 0) setActive(openIndex);
  }, [openIndex, setActive]);

  if (conversations.length === 0) {
    return (
      <div className="empty-list">
        <p>No conversations yet.</p>
        <p className="muted">Start one with “New conversation”.</p>
      </div>
    );
  }

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: arrow keys pressed on the focusable rows bubble up here (one handler for a virtualised list)
    <div ref={scrollRef} className="conversation-scroll" onKeyDown={roving.onKeyDown}>
      <ul className="conversation-list" aria-label="Conversations" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((item) => {
          const c = conversations[item.index];
          if (!c) return null;
          return (
            <li
              key={item.key}
              data-index={item.index}
              className="conversation-row"
              style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
            >
              <ConversationRow
                conversation={c}
                open={c.id === openId}
                tabbable={item.index === roving.activeIndex}
                selecting={selecting}
                checked={selected.has(c.id)}
                index={item.index}
                onOpen={openAt}
                onToggle={onToggle}
                now={now}
              />
            </li>
          );
        })}
      </ul>
    </div>
  );
}

interface RowProps {
  conversation: ConversationView;
  open: boolean;
  tabbable: boolean;
  selecting: boolean;
  checked: boolean;
  index: number;
  onOpen: (index: number, id: string) => void;
  onToggle: (id: string) => void;
  now: number;
}

const ConversationRow = memo(function ConversationRow({
  conversation: c,
  open,
  tabbable,
  selecting,
  checked,
  index,
  onOpen,
  onToggle,
  now,
}: RowProps) {
  const openRow = () => onOpen(index, c.id);
  const toggleRow = () => onToggle(c.id);
  const online = useOnline(c.otherUserId);
  const otherName = contactName(c);
  const last = c.lastMessageView;
  const preview = !last
    ? 'No messages yet'
    : last.isDeleted
      ? 'Message deleted'
      : last.content || (last.attachments.length > 0 ? `File: ${last.attachments.map((a) => a.filename).join(', ')}` : '');
  const time = c.sortTime;
  return (
    <div
      className={`conversation${open ? ' open' : ''}${c.unread > 0 ? ' has-unread' : ''}`}
      data-conversation-id={c.id}
      data-unread={c.unread}
    >
      {selecting && (
        <input
          type="checkbox"
          className="row-check"
          checked={checked}
          onChange={toggleRow}
          tabIndex={tabbable ? 0 : -1}
          aria-label={`Select conversation with ${otherName}`}
        />
      )}
      <button
        type="button"
        className="conversation-button"
        data-roving
        tabIndex={tabbable ? 0 : -1}
        aria-current={open ? 'true' : undefined}
        onClick={selecting ? toggleRow : openRow}
      >
        <Avatar userId={c.otherUserId} name={otherName} online={online} />
        <span className="conversation-text">
          <span className="conversation-top">
            <span className="conversation-name">{otherName}</span>
            <span className="sr-only">{online ? ', online' : ', offline'}</span>
            <MutedMark conversationId={c.id} />
            <BlockedMark userId={c.otherUserId} />
            <time className="conversation-time" dateTime={time} title={fullDateTime(time)}>
              {relativeTime(time, now)}
            </time>
          </span>
          {c.job && (
            <span className="conversation-job" title={`Job ${c.job}`}>
              Job {shortId(c.job)}
            </span>
          )}
          <span className="conversation-bottom">
            <span className={`conversation-preview${last?.isDeleted ? ' deleted' : ''}`}>
              {last?.mine && <StatusTicks status={last.status} />}
              {last?.mine && <span className="you">You:</span>}
              <span className="preview-text">{preview}</span>
            </span>
            {c.unread > 0 && (
              <span className="badge" data-testid="unread-badge">
                {c.unread > 99 ? '99+' : c.unread}
                <span className="sr-only"> unread</span>
              </span>
            )}
          </span>
        </span>
      </button>
    </div>
  );
});
