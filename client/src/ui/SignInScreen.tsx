import { type FormEvent, useId, useState } from 'react';
import { AuthError, defaultKeepSignedIn, register, type Session, signIn } from '../auth/session';
import { DEMO_USERS } from './demo-users';

interface Props {
  /** `keep`: "Keep me signed in on this device" (ignored when signing in again). */
  onSignedIn: (session: Session, keep: boolean) => void;
  /** Set when the token expired: the same account signs in again and keeps its local data. */
  expiredEmail?: string | null;
  onCancel?: () => void;
  /** Why the sign-in screen is shown (after a sign-out, here or in another tab). */
  notice?: string | null;
}

export function SignInScreen({ onSignedIn, expiredEmail, onCancel, notice }: Props) {
  const [mode, setMode] = useState<'sign-in' | 'register'>('sign-in');
  const [email, setEmail] = useState(expiredEmail ?? '');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** The address a confirmation link was mailed to (after "Create account"). */
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [keep, setKeep] = useState(defaultKeepSignedIn);
  const ids = { email: useId(), password: useId(), name: useId(), error: useId(), title: useId(), keep: useId(), keepHint: useId() };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      if (mode === 'register') {
        await register(name.trim(), email.trim(), password, keep);
        setPassword('');
        setSentTo(email.trim());
        return;
      }
      onSignedIn(await signIn(email.trim(), password, keep), keep);
    } catch (err) {
      setError(err instanceof AuthError ? err.message : 'Something went wrong. Please try again.');
    } finally {
      setBusy(false);
    }
  };

  const fillDemo = (user: (typeof DEMO_USERS)[number]) => {
    setMode('sign-in');
    setSentTo(null);
    setEmail(user.email);
    setPassword(user.password);
    setError(null);
  };

  const describedBy = error ? ids.error : undefined;
  return (
    <main className="signin">
      <div className="signin-card">
        <div className="brand">
          <img src="/favicon.svg" alt="" width={40} height={40} />
          <span>FetchWork Messaging</span>
        </div>
        {notice && !expiredEmail && (
          <p className="notice notice-info" role="status">
            {notice}
          </p>
        )}
        {expiredEmail && (
          <p className="notice" role="status">
            Your session has expired. Sign in again to resume syncing; messages on this device are kept.
          </p>
        )}
        <p className="notice notice-info" role="status" hidden={!sentTo}>
          {sentTo && (
            <>
              Check your email (<strong>{sentTo}</strong>) to finish creating your account: open the link we sent you.
            </>
          )}
        </p>
        <fieldset className="tabs">
          <legend className="sr-only">Sign in or create an account</legend>
          <button
            type="button"
            aria-pressed={mode === 'sign-in'}
            className="tab"
            onClick={() => {
              setMode('sign-in');
              setSentTo(null);
            }}
          >
            Sign in
          </button>
          <button
            type="button"
            aria-pressed={mode === 'register'}
            className="tab"
            onClick={() => {
              setMode('register');
              setSentTo(null);
            }}
            disabled={!!expiredEmail}
          >
            Create account
          </button>
        </fieldset>
        <form onSubmit={onSubmit} aria-labelledby={ids.title}>
          <h1 id={ids.title} className="sr-only">
            {mode === 'sign-in' ? 'Sign in' : 'Create account'}
          </h1>
          {mode === 'register' && (
            <>
              <label htmlFor={ids.name}>Name</label>
              <input
                id={ids.name}
                value={name}
                onChange={(e) => setName(e.target.value)}
                autoComplete="name"
                required
                aria-describedby={describedBy}
              />
            </>
          )}
          <label htmlFor={ids.email}>Email</label>
          <input
            id={ids.email}
            type="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            autoComplete="email"
            required
            readOnly={!!expiredEmail}
            aria-describedby={describedBy}
          />
          <label htmlFor={ids.password}>Password</label>
          <input
            id={ids.password}
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete={mode === 'sign-in' ? 'current-password' : 'new-password'}
            minLength={mode === 'register' ? 8 : undefined}
            required
            aria-describedby={describedBy}
          />
          {!expiredEmail && (
            <>
              <div className="keep-signed-in">
                <input
                  id={ids.keep}
                  type="checkbox"
                  checked={keep}
                  onChange={(e) => setKeep(e.target.checked)}
                  aria-describedby={ids.keepHint}
                />
                <label htmlFor={ids.keep}>Keep me signed in on this device</label>
              </div>
              <p id={ids.keepHint} className="muted keep-signed-in-hint">
                Leave this off on a shared computer: closing the browser signs you out, and your messages are removed from it the next time
                this app opens there. Signing out removes them at once.
              </p>
            </>
          )}
          {error && (
            <p id={ids.error} className="form-error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {busy ? 'Please wait…' : mode === 'sign-in' ? 'Sign in' : 'Create account'}
          </button>
          {onCancel && (
            <button type="button" className="btn btn-block" onClick={onCancel}>
              Not now
            </button>
          )}
        </form>
        {!expiredEmail && (
          <section className="demo-users" aria-labelledby="demo-title">
            <h2 id="demo-title">Demo accounts</h2>
            <p className="muted">Seeded by the sync server for local runs. Password for all: fetchwork-demo</p>
            <ul>
              {DEMO_USERS.map((u) => (
                <li key={u.email}>
                  <span>
                    <strong>{u.name}</strong>
                    <br />
                    <code>{u.email}</code> / <code>{u.password}</code>
                  </span>
                  <button type="button" className="btn btn-small" onClick={() => fillDemo(u)} aria-label={`Use ${u.name}'s demo account`}>
                    Use
                  </button>
                </li>
              ))}
            </ul>
          </section>
        )}
      </div>
    </main>
  );
}
