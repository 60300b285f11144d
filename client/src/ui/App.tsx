import { useCallback, useEffect, useRef, useState } from 'react';
import { clearUserCaches, type ForgetResult, forgetReplica, holdReplica, registerReplica, sweepReplicas } from '../auth/device-data';
import {
  AuthError,
  clearSession,
  confirmationTokenOf,
  confirmRegistration,
  loadSession,
  persistentSession,
  type Session,
  type StoredSession,
  saveSession,
  signOutOnServer,
} from '../auth/session';
import { SessionTabs } from '../auth/session-tabs';
import { TokenSource } from '../auth/token-source';
import { API_URL } from '../config';
import { databaseNameFor } from '../db/replica-name';
import { InboxProvider } from '../hooks';
import type { Inbox } from '../inbox-api';
import { forgetAbandonedNotifications, forgetPushSubscription } from '../notifications/push-subscription';
import { ReloadPrompt } from '../pwa/ReloadPrompt';
import { InboxScreen } from './InboxScreen';
import { LiveAnnouncer } from './LiveAnnouncer';
import { openInbox } from './open-inbox';
import { SignInScreen } from './SignInScreen';

type Phase =
  /** No session in this tab: asking the browser's other tabs whether they have one. */
  | { kind: 'starting' }
  | { kind: 'signed-out'; notice: string | null }
  /** The page was opened from a mailed confirmation link (`#/confirm/<token>`): creating the account. */
  | { kind: 'confirming'; token: string }
  | { kind: 'signed-in'; session: StoredSession; signInAgain: boolean }
  /** This user's data is being deleted from the browser. */
  | { kind: 'signing-out'; userId: string };

/** How long a new tab waits for another tab to share its session before showing sign-in. */
const ASK_TABS_MS = 200;

const SIGNED_OUT_ELSEWHERE = 'You signed out in another tab. Your messages and files are removed from this browser.';

const INVALID_CONFIRMATION =
  'This confirmation link does not work any more: it expired, was already used, or a newer one was sent. Create your account again to get a new link.';

let confirmAtStart: string | null | undefined;
/**
 * The token of a confirmation link the page was opened with, read once (StrictMode runs state
 * initializers twice) and removed from the address bar at once, so it stays out of history.
 */
function confirmationAtStart(): string | null {
  if (confirmAtStart === undefined) {
    confirmAtStart = typeof location === 'undefined' ? null : confirmationTokenOf(location.hash);
    if (confirmAtStart) history.replaceState(null, '', `${location.pathname}${location.search}`);
  }
  return confirmAtStart;
}

function initialPhase(): Phase {
  const session = loadSession();
  // Signed in already (a link opened in a browser that has a session): the link is not used.
  const token = confirmationAtStart();
  if (token && !session) return { kind: 'confirming', token };
  if (session) return { kind: 'signed-in', session, signInAgain: false };
  return typeof BroadcastChannel === 'undefined' ? { kind: 'signed-out', notice: null } : { kind: 'starting' };
}

/**
 * Deletes what a session left behind once nothing uses it (device-data.ts), keeping this tab's
 * replica and the one of the session the device keeps. Run at start and after each sign-in.
 */
function sweep(current: StoredSession | null): void {
  const sessions = [current, persistentSession()].flatMap((s) => (s ? [s] : []));
  void sweepReplicas(sessions.map((s) => databaseNameFor(s.user.id))).catch(() => undefined);
  void forgetAbandonedNotifications(sessions.map((s) => s.user.id));
}

export function App() {
  const [phase, setPhase] = useState<Phase>(initialPhase);
  // Read by the other tabs' messages, which must see a change at once, not at the next render.
  const current = useRef<StoredSession | null>(phase.kind === 'signed-in' ? phase.session : null);
  const tabs = useRef<SessionTabs | null>(null);

  const go = useCallback((next: Phase) => {
    current.current = next.kind === 'signed-in' ? next.session : null;
    setPhase(next);
  }, []);

  useEffect(() => {
    const t = new SessionTabs({
      current: () => current.current,
      signedIn: (session) => go({ kind: 'signed-in', session: saveSession(session, session.persistent), signInAgain: false }),
      // The tab that signed out deletes the data once this one has closed the replica.
      signedOut: () => {
        clearSession();
        clearPageTraces();
        go({ kind: 'signed-out', notice: SIGNED_OUT_ELSEWHERE });
      },
    });
    tabs.current = t;
    return () => {
      t.close();
      if (tabs.current === t) tabs.current = null;
    };
  }, [go]);

  // A session that is not kept on the device lives in the open tabs: a new one asks them.
  useEffect(() => {
    if (phase.kind !== 'starting') return;
    let active = true;
    void tabs.current?.ask(ASK_TABS_MS).then((shared) => {
      if (!active || current.current) return;
      go(
        shared
          ? { kind: 'signed-in', session: saveSession(shared, shared.persistent), signInAgain: false }
          : { kind: 'signed-out', notice: null },
      );
    });
    return () => {
      active = false;
    };
  }, [phase.kind, go]);

  // Once this tab knows its session: delete what earlier sessions left on this device.
  const started = phase.kind !== 'starting' && phase.kind !== 'confirming';
  useEffect(() => {
    if (started) sweep(current.current);
  }, [started]);

  const onSignedIn = useCallback(
    (next: Session, keep: boolean) => {
      // Signing in again after expiry keeps the choice made at the first sign-in.
      const persistent = current.current && current.current.user.id === next.user.id ? current.current.persistent : keep;
      const stored = saveSession(next, persistent);
      go({ kind: 'signed-in', session: stored, signInAgain: false });
      tabs.current?.announceSignedIn(stored);
      sweep(stored);
    },
    [go],
  );

  // A confirmation link opened in a tab that already shows the sign-in screen (only the hash changes).
  const signedOut = phase.kind === 'signed-out';
  useEffect(() => {
    if (!signedOut) return;
    const onHash = () => {
      const token = confirmationTokenOf(location.hash);
      if (!token) return;
      history.replaceState(null, '', `${location.pathname}${location.search}`);
      go({ kind: 'confirming', token });
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, [signedOut, go]);

  // A confirmation link: create the account and sign in (as a sign-in), or say why not.
  const confirming = phase.kind === 'confirming' ? phase.token : null;
  useEffect(() => {
    if (!confirming) return;
    let active = true;
    confirmRegistration(confirming).then(
      ({ session, keep }) => {
        if (active) onSignedIn(session, keep);
      },
      (err) => {
        if (!active) return;
        const notice =
          err instanceof AuthError && err.code !== 'CONFIRMATION_INVALID' && err.code !== 'VALIDATION_FAILED'
            ? `Your account could not be created: ${err.message}`
            : INVALID_CONFIRMATION;
        go({ kind: 'signed-out', notice });
      },
    );
    return () => {
      active = false;
    };
  }, [confirming, go, onSignedIn]);

  const signOut = useCallback(
    (userId: string, everywhere = false) => {
      // Ends the session on the server; offline, deleting the device key below makes the cookie worthless.
      const ending = current.current;
      if (ending?.deviceKey) void signOutOnServer(ending, everywhere);
      // This browser's push subscription belongs to the user signing out (the server also drops
      // the ended session's subscriptions, for a sign-out made offline).
      void forgetPushSubscription(API_URL, ending?.token ?? null);
      clearSession();
      clearPageTraces();
      tabs.current?.announceSignedOut(userId);
      go({ kind: 'signing-out', userId });
    },
    [go],
  );

  const onSignedOut = useCallback(
    (result: ForgetResult) => {
      go({
        kind: 'signed-out',
        notice: result.complete
          ? 'You are signed out. Your messages and files were removed from this browser.'
          : 'You are signed out. Another tab of this browser still holds some of your data; it is removed the next time this app starts here.',
      });
    },
    [go],
  );

  let screen: React.ReactNode;
  if (phase.kind === 'starting') {
    screen = <main className="loading-screen" aria-busy="true" />;
  } else if (phase.kind === 'confirming') {
    screen = (
      <main className="loading-screen" aria-busy="true">
        <p role="status">Creating your account…</p>
      </main>
    );
  } else if (phase.kind === 'signing-out') {
    screen = <SigningOut userId={phase.userId} onDone={onSignedOut} />;
  } else if (phase.kind === 'signed-out') {
    screen = <SignInScreen onSignedIn={onSignedIn} notice={phase.notice} />;
  } else if (phase.signInAgain) {
    const { session } = phase;
    screen = (
      <SignInScreen
        onSignedIn={onSignedIn}
        expiredEmail={session.user.email ?? null}
        onCancel={() => go({ ...phase, signInAgain: false })}
      />
    );
  } else {
    const { session } = phase;
    // Keyed by sign-in, not by token: refreshed tokens go to the open replica through its token
    // source; a new sign-in ("sign in again") reopens the replica with the new session.
    screen = (
      <InboxSession
        key={session.deviceKey ?? session.token}
        session={session}
        onSignOut={(everywhere) => signOut(session.user.id, everywhere)}
        onSignInAgain={() => go({ ...phase, signInAgain: true })}
      />
    );
  }
  return (
    <>
      {/* A new live region per user: the last announcement (a message's text) must not outlive the session. */}
      <LiveAnnouncer key={phase.kind === 'signed-in' ? phase.session.user.id : 'nobody'}>{screen}</LiveAnnouncer>
      <ReloadPrompt />
    </>
  );
}

/**
 * What the page itself still shows of the user after the inbox is gone: the open conversation
 * in the URL (its id is derived from the participants' ids) and the unread count in the title.
 */
function clearPageTraces(): void {
  if (location.hash) history.replaceState(null, '', `${location.pathname}${location.search}`);
  document.title = 'FetchWork Messaging';
}

/**
 * Opening and closing a replica are asynchronous and the same database name cannot be opened
 * twice at once, so each open waits for the previous close (StrictMode and sign-in-again both
 * close and reopen in quick succession); a sign-out deletes only after it.
 */
let lastClose: Promise<unknown> = Promise.resolve();

/** How long a sign-out waits for this tab's own replica to close. */
const CLOSE_WAIT_MS = 5_000;

/** Deletes the user's data from this browser once this tab has closed the replica. */
async function forgetUser(userId: string): Promise<ForgetResult> {
  // A close that hangs does not hold the sign-out up: the deletion then goes ahead as it does
  // for another tab that does not let go.
  await Promise.race([lastClose, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS))]);
  const [result] = await Promise.all([forgetReplica(databaseNameFor(userId)), clearUserCaches()]);
  return result;
}

function SigningOut({ userId, onDone }: { userId: string; onDone: (result: ForgetResult) => void }) {
  useEffect(() => {
    let active = true;
    // A second run (StrictMode) joins the same deletion.
    void forgetUser(userId)
      .catch((): ForgetResult => ({ complete: false, left: [] }))
      .then((result) => {
        if (active) onDone(result);
      });
    return () => {
      active = false;
    };
  }, [userId, onDone]);
  return (
    <main className="loading-screen" aria-busy="true">
      <p role="status">Signing out… removing your messages and files from this browser.</p>
    </main>
  );
}

function InboxSession({
  session,
  onSignOut,
  onSignInAgain,
}: {
  session: StoredSession;
  onSignOut: (everywhere?: boolean) => void;
  onSignInAgain: () => void;
}) {
  const [inbox, setInbox] = useState<Inbox | null>(null);
  const [error, setError] = useState<string | null>(null);
  // One per sign-in: refreshed tokens are kept where this session is kept. A session the server
  // ended shows as "unauthorized" on the socket, whose banner offers to sign in again.
  const [tokens] = useState(
    () =>
      new TokenSource(session, {
        refreshed: (next) => saveSession(next, session.persistent),
        ended: () => undefined,
        latest: () => {
          const stored = loadSession();
          return stored && stored.user.id === session.user.id ? stored : null;
        },
      }),
  );

  useEffect(() => {
    let cancelled = false;
    const name = databaseNameFor(session.user.id);
    // Held until the replica is closed again: a sign-out in another tab waits for it, and this
    // open waits for a deletion under way. Asked for before the previous close is over (shared
    // with its hold), so that no other tab's sweep finds the replica unused in between.
    const held = holdReplica(name);
    const opening = Promise.all([lastClose, held]).then(async ([, release]) => {
      try {
        registerReplica(name);
        return {
          opened: await openInbox(session.user, tokens.get, { deviceKey: session.deviceKey ?? null, persistent: session.persistent }),
          release,
        };
      } catch (err) {
        release();
        throw err;
      }
    });
    opening.then(
      ({ opened }) => {
        if (!cancelled) setInbox(opened);
      },
      (err: unknown) => {
        if (!cancelled) setError(err instanceof Error ? err.message : String(err));
      },
    );
    return () => {
      cancelled = true;
      setInbox(null);
      lastClose = opening.then(({ opened, release }) => opened.close().finally(release)).catch(() => {});
    };
  }, [session, tokens]);

  if (error) {
    return (
      <main className="fatal" role="alert">
        <h1>The inbox could not be opened</h1>
        <p>{error}</p>
        <button type="button" className="btn" onClick={() => location.reload()}>
          Reload
        </button>
        <button type="button" className="btn" onClick={() => onSignOut()}>
          Sign out
        </button>
      </main>
    );
  }
  if (!inbox) {
    return (
      <main className="loading-screen" aria-busy="true">
        <p>Opening your inbox…</p>
      </main>
    );
  }
  return (
    <InboxProvider inbox={inbox}>
      <InboxScreen onSignOut={onSignOut} onSignInAgain={onSignInAgain} />
    </InboxProvider>
  );
}
