import { useCallback, useDeferredValue, useEffect, useId, useMemo, useRef, useState } from 'react';
import { firstValueFrom, timeout } from 'rxjs';
import { useConnectionState, useConversations, useHistoryProgress, useInbox, useIsLeader, useSearch, useTotalUnread } from '../hooks';
import type { ConversationView } from '../inbox-api';
import { reportOpenConversation } from '../notifications/page-bridge';
import { ConnectionBanner } from './ConnectionBanner';
import { ConversationList } from './ConversationList';
import { HistoryProgress } from './HistoryProgress';
import { useAnnounce } from './LiveAnnouncer';
import { MessagePane, type PaneConversation } from './MessagePane';
import { NewConversationDialog } from './NewConversationDialog';
import { NotificationPrompt, NotificationsButton } from './NotificationSettings';
import { contactName } from './participant-name';
import { SearchResults } from './SearchResults';
import { SignOutDialog } from './SignOutDialog';
import { useNow } from './useNow';

/** How long the unread count must hold before the tab title shows it. */
const TITLE_SETTLE_MS = 400;

interface Props {
  /** `everywhere`: also end the user's sessions on every other device. */
  onSignOut: (everywhere?: boolean) => void;
  onSignInAgain: () => void;
}

/** The open conversation lives in the URL hash so a reload (also offline) reopens it. */
function conversationFromHash(): string | null {
  const match = /^#\/c\/(.+)$/.exec(location.hash);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

export function InboxScreen({ onSignOut, onSignInAgain }: Props) {
  const inbox = useInbox();
  const conversations = useConversations();
  const connection = useConnectionState();
  const historyProgress = useHistoryProgress();
  const totalUnread = useTotalUnread();
  const isLeader = useIsLeader();
  const now = useNow();
  const announce = useAnnounce();
  const searchId = useId();

  const [openId, setOpenId] = useState<string | null>(conversationFromHash);
  const [focusMessageId, setFocusMessageId] = useState<string | null>(null);
  const [query, setQuery] = useState('');
  const deferredQuery = useDeferredValue(query.trim());
  const search = useSearch(deferredQuery);
  const [selecting, setSelecting] = useState(false);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [newOpen, setNewOpen] = useState(false);
  const [signOutOpen, setSignOutOpen] = useState(false);
  const [everywhere, setEverywhere] = useState(false);

  // Signing out deletes this device's copy: warn first when that would lose unsent work.
  const requestSignOut = async (allDevices: boolean) => {
    setEverywhere(allDevices);
    const work = await firstValueFrom(inbox.unsentWork$().pipe(timeout({ first: 3000 }))).catch(() => null);
    if (work && work.messages + work.refused === 0) onSignOut(allDevices);
    else setSignOutOpen(true);
  };

  useEffect(() => {
    const onHash = () => setOpenId(conversationFromHash());
    window.addEventListener('hashchange', onHash);
    window.addEventListener('popstate', onHash);
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener('popstate', onHash);
    };
  }, []);

  const open = useCallback((id: string | null, messageId: string | null = null) => {
    setFocusMessageId(messageId);
    setOpenId(id);
    const hash = id ? `#/c/${encodeURIComponent(id)}` : '';
    // A history entry per opened conversation makes the phone's back gesture return to the list.
    if (location.hash !== hash) history.pushState(null, '', hash || `${location.pathname}${location.search}`);
  }, []);

  // Settled first: a message into the open conversation is unread for a moment and then read,
  // and each title change costs the browser a tab-strip update (2 % of a page's busy time per
  // message in the screen-to-screen profile, for a title nobody could see change).
  useEffect(() => {
    const title = totalUnread > 0 ? `(${totalUnread}) FetchWork Messaging` : 'FetchWork Messaging';
    const timer = setTimeout(() => {
      if (document.title !== title) document.title = title;
    }, TITLE_SETTLE_MS);
    return () => clearTimeout(timer);
  }, [totalUnread]);

  // Tell screen readers about messages that arrive while they are somewhere else on the page.
  const lastSeen = useRef<Map<string, string | null> | null>(null);
  useEffect(() => {
    if (!conversations) return;
    const previous = lastSeen.current;
    const next = new Map<string, string | null>();
    for (const c of conversations) {
      const last = c.lastMessageView;
      next.set(c.id, last?.id ?? null);
      if (previous && last && !last.mine && !last.isDeleted && previous.get(c.id) !== last.id) {
        announce(`New message from ${c.otherUserName}: ${last.content.slice(0, 140)}`);
      }
    }
    lastSeen.current = next;
  }, [conversations, announce]);

  // For the service worker (no notification for what the user is reading) and the server (notifications:focus).
  useEffect(() => reportOpenConversation(openId), [openId]);
  useEffect(() => () => reportOpenConversation(null), []);

  const byId = useMemo(() => new Map<string, ConversationView>((conversations ?? []).map((c) => [c.id, c])), [conversations]);
  const openConversation = openId ? byId.get(openId) : undefined;
  // The pane's own fields only: a new message changes the conversation's view (its last message,
  // unread count) but not the pane, which then re-renders for its messages alone.
  const paneId = openConversation?.id;
  const paneOther = openConversation?.otherUserId;
  const paneName = openConversation ? contactName(openConversation) : undefined;
  const paneJob = openConversation?.job ?? null;
  const paneConversation = useMemo<PaneConversation | undefined>(
    () =>
      paneId !== undefined && paneOther !== undefined && paneName !== undefined
        ? { id: paneId, otherUserId: paneOther, otherName: paneName, job: paneJob }
        : undefined,
    [paneId, paneOther, paneName, paneJob],
  );
  const closePane = useCallback(() => open(null), [open]);

  const toggle = useCallback((id: string) => {
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);
  const endSelection = () => {
    setSelecting(false);
    setSelected(new Set());
  };
  const selectedUnread = (conversations ?? []).filter((c) => selected.has(c.id) && c.unread > 0);
  const markSelectedRead = async () => {
    await Promise.all(selectedUnread.map((c) => inbox.markConversationRead(c.id)));
    endSelection();
  };
  const onFocusHandled = useCallback(() => setFocusMessageId(null), []);

  return (
    <div className="app" data-view={openId ? 'conversation' : 'list'}>
      <button
        type="button"
        className="skip-link"
        onClick={() => {
          const target = document.querySelector<HTMLElement>('.composer-input') ?? document.getElementById('composer-anchor');
          target?.focus();
        }}
      >
        Skip to message pane
      </button>
      <header className="topbar">
        <div className="brand">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <h1>
            Inbox
            {totalUnread > 0 && (
              <span className="badge badge-total" data-testid="total-unread">
                {totalUnread}
                <span className="sr-only"> unread</span>
              </span>
            )}
          </h1>
        </div>
        <div className="topbar-actions">
          <button type="button" className="btn btn-primary" onClick={() => setNewOpen(true)}>
            New conversation
          </button>
          <NotificationsButton />
          <span className="whoami" title={inbox.user.email ?? inbox.user.id}>
            {inbox.user.name}
          </span>
          <button type="button" className="btn" onClick={() => void requestSignOut(false)}>
            Sign out
          </button>
          <button type="button" className="btn btn-link" onClick={() => void requestSignOut(true)}>
            Sign out of all devices
          </button>
        </div>
      </header>
      <ConnectionBanner state={connection} onSignInAgain={onSignInAgain} />
      <HistoryProgress progress={historyProgress} />
      <NotificationPrompt />
      <div className="layout">
        <aside className="sidebar" aria-label="Conversations and search">
          <div className="sidebar-tools">
            <label htmlFor={searchId} className="sr-only">
              Search messages
            </label>
            <input
              id={searchId}
              type="search"
              className="search-input"
              placeholder="Search messages"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Escape') setQuery('');
              }}
            />
            {!query &&
              (selecting ? (
                <div className="selection-bar" role="toolbar" aria-label="Selected conversations">
                  <span aria-live="polite">{selected.size} selected</span>
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => setSelected(new Set((conversations ?? []).map((c) => c.id)))}
                  >
                    All
                  </button>
                  <button
                    type="button"
                    className="btn btn-small"
                    disabled={selectedUnread.length === 0}
                    onClick={() => void markSelectedRead()}
                  >
                    Mark read
                  </button>
                  <button type="button" className="btn btn-small" onClick={endSelection}>
                    Cancel
                  </button>
                </div>
              ) : (
                <button type="button" className="btn btn-small" onClick={() => setSelecting(true)} disabled={!conversations?.length}>
                  Select
                </button>
              ))}
          </div>
          {query.trim() ? (
            <SearchResults
              query={deferredQuery}
              hits={search.hits}
              loading={search.loading || deferredQuery !== query.trim()}
              historyLoading={historyProgress !== null}
              conversations={byId}
              onOpen={(cid, mid) => open(cid, mid)}
              now={now}
            />
          ) : conversations ? (
            <ConversationList
              conversations={conversations}
              openId={openId}
              onOpen={open}
              selecting={selecting}
              selected={selected}
              onToggle={toggle}
              now={now}
            />
          ) : (
            <p className="loading">Opening your inbox…</p>
          )}
          <footer className="sidebar-footer" data-leader={isLeader ? 'true' : 'false'}>
            {isLeader ? 'This tab syncs for this browser' : 'Another tab of this browser is syncing'}
          </footer>
        </aside>
        <main className="main" id="composer-anchor" tabIndex={-1}>
          {paneConversation ? (
            <MessagePane
              key={paneConversation.id}
              conversation={paneConversation}
              focusMessageId={focusMessageId}
              onFocusHandled={onFocusHandled}
              onBack={closePane}
              now={now}
            />
          ) : openId && !conversations ? (
            <p className="loading">Opening conversation…</p>
          ) : openId ? (
            <div className="empty-pane">
              <p>This conversation is not on this device yet.</p>
              <button type="button" className="btn" onClick={() => open(null)}>
                Back to conversations
              </button>
            </div>
          ) : (
            <div className="empty-pane">
              <p>Select a conversation to read it, or start a new one.</p>
            </div>
          )}
        </main>
      </div>
      <SignOutDialog open={signOutOpen} onCancel={() => setSignOutOpen(false)} onSignOut={() => onSignOut(everywhere)} />
      <NewConversationDialog
        open={newOpen}
        onClose={() => setNewOpen(false)}
        onCreated={(id) => {
          setNewOpen(false);
          open(id);
        }}
      />
    </div>
  );
}
