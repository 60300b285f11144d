import { useCallback, useEffect, useState } from 'react';
import { clearSession, loadSession, type Session, saveSession } from '../auth/session';
import { InboxProvider } from '../hooks';
import type { Inbox } from '../inbox-api';
import { ReloadPrompt } from '../pwa/ReloadPrompt';
import { InboxScreen } from './InboxScreen';
import { LiveAnnouncer } from './LiveAnnouncer';
import { openInbox } from './open-inbox';
import { SignInScreen } from './SignInScreen';

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [signInAgain, setSignInAgain] = useState(false);

  const onSignedIn = useCallback((next: Session) => {
    saveSession(next);
    setSignInAgain(false);
    setSession(next);
  }, []);

  const onSignOut = useCallback(() => {
    clearSession();
    setSession(null);
  }, []);

  let screen: React.ReactNode;
  if (!session) {
    screen = <SignInScreen onSignedIn={onSignedIn} />;
  } else if (signInAgain) {
    screen = <SignInScreen onSignedIn={onSignedIn} expiredEmail={session.user.email ?? null} onCancel={() => setSignInAgain(false)} />;
  } else {
    // Keyed by token: a fresh token after "sign in again" reopens the replica with it.
    screen = <InboxSession key={session.token} session={session} onSignOut={onSignOut} onSignInAgain={() => setSignInAgain(true)} />;
  }
  return (
    <LiveAnnouncer>
      {screen}
      <ReloadPrompt />
    </LiveAnnouncer>
  );
}

/**
 * Opening and closing a replica are asynchronous and the same database name cannot be opened
 * twice at once, so each open waits for the previous close (StrictMode and sign-in-again both
 * close and reopen in quick succession).
 */
let lastClose: Promise<unknown> = Promise.resolve();

function InboxSession({ session, onSignOut, onSignInAgain }: { session: Session; onSignOut: () => void; onSignInAgain: () => void }) {
  const [inbox, setInbox] = useState<Inbox | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    const opening = lastClose.then(() => openInbox(session));
    opening.then(
      (opened) => {
        if (!cancelled) setInbox(opened);
      },
      (err: unknown) => {
        if (!cancelled) setError(err instanceof Error ? err.message : String(err));
      },
    );
    return () => {
      cancelled = true;
      setInbox(null);
      lastClose = opening.then((opened) => opened.close()).catch(() => {});
    };
  }, [session]);

  if (error) {
    return (
      <main className="fatal" role="alert">
        <h1>The inbox could not be opened</h1>
        <p>{error}</p>
        <button type="button" className="btn" onClick={() => location.reload()}>
          Reload
        </button>
        <button type="button" className="btn" onClick={onSignOut}>
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
