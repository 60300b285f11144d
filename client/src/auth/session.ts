import { AUTH_REQUEST_HEADER, AUTH_ROUTES, CONFIRM_HASH_PREFIX, type SessionResponse } from '@fetchwork/shared-schema';
import { API_URL } from '../config';
import type { SessionUser } from '../inbox-api';

/**
 * The signed-in user, their short-lived access token and the page's half of the session
 * (`deviceKey`; the other half is the server's httpOnly refresh cookie, which the page cannot
 * read). Signing in is the one network call outside the data layer: it has to happen before
 * there is a replica to talk to. A session of a host app that supplies its own tokens (FetchWork)
 * has no device key.
 */
export interface Session {
  token: string;
  user: SessionUser;
  /** When `token` expires, epoch ms (null: unknown; read from the token). */
  expiresAt?: number | null;
  deviceKey?: string;
}

/**
 * A session and where it is kept. `persistent` ("Keep me signed in on this device"): in
 * localStorage, so the device keeps the session and the replica between browser sessions and the
 * installed app opens offline. Otherwise in the tab's sessionStorage: the browser's other open
 * tabs share it (session-tabs.ts), and once the last of them is gone the replica is deleted
 * at the next start (auth/device-data.ts). Same key in both, never both at once.
 */
export interface StoredSession extends Session {
  persistent: boolean;
}

export const SESSION_KEY = 'fetchwork.session';

export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function isSession(value: unknown): value is Session {
  const v = value as Session | null;
  return !!v && typeof v.token === 'string' && !!v.user && typeof v.user.id === 'string' && typeof v.user.name === 'string';
}

const pick = (s: Session): Session => ({
  token: s.token,
  user: s.user,
  ...(typeof s.expiresAt === 'number' ? { expiresAt: s.expiresAt } : {}),
  ...(typeof s.deviceKey === 'string' ? { deviceKey: s.deviceKey } : {}),
});

/** A stored session as text, or null (also for anything that is not one). */
export function parseSession(raw: string | null): Session | null {
  try {
    const parsed: unknown = raw ? JSON.parse(raw) : null;
    return isSession(parsed) ? pick(parsed) : null;
  } catch {
    return null;
  }
}

function read(storage: () => Storage): Session | null {
  try {
    return parseSession(storage().getItem(SESSION_KEY));
  } catch {
    return null;
  }
}

/** This tab's session (kept across reloads): its own sessionStorage first, then the device's. */
export function loadSession(): StoredSession | null {
  const tab = read(() => sessionStorage);
  if (tab) return { ...tab, persistent: false };
  const device = read(() => localStorage);
  return device ? { ...device, persistent: true } : null;
}

/** The session the device keeps (localStorage), whatever this tab has. */
export function persistentSession(): Session | null {
  return read(() => localStorage);
}

export function saveSession(session: Session, persistent: boolean): StoredSession {
  const raw = JSON.stringify(pick(session));
  if (persistent) {
    localStorage.setItem(SESSION_KEY, raw);
    sessionStorage.removeItem(SESSION_KEY);
  } else {
    sessionStorage.setItem(SESSION_KEY, raw);
    localStorage.removeItem(SESSION_KEY);
  }
  return { ...pick(session), persistent };
}

export function clearSession(): void {
  for (const storage of [() => localStorage, () => sessionStorage]) {
    try {
      storage().removeItem(SESSION_KEY);
    } catch {
      // storage unavailable: nothing kept there
    }
  }
}

/**
 * Where "Keep me signed in on this device" starts. Off in a browser tab: on a shared or public
 * computer, a box left ticked by accident leaves every message readable by the next person,
 * while one left unticked on one's own computer costs a sign-in and a fresh download of the
 * recent history after the browser was closed. On in the installed app: installing it is
 * already saying "this device is mine", and the installed app is what has to open offline.
 */
export function defaultKeepSignedIn(): boolean {
  if (typeof window === 'undefined') return false;
  const standalone = (navigator as Navigator & { standalone?: boolean }).standalone === true;
  return standalone || (window.matchMedia?.('(display-mode: standalone)').matches ?? false);
}

/** POSTs to an auth route; the answer's `data`, or an AuthError with the server's code and message. */
async function authPost(path: string, body: Record<string, unknown>): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${API_URL}${path}`, {
      method: 'POST',
      // The refresh cookie is set (and later sent) across the app's and the API's origins.
      credentials: 'include',
      headers: { 'content-type': 'application/json', [AUTH_REQUEST_HEADER]: '1' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new AuthError('NETWORK', 'Cannot reach the server. Check your connection and try again.');
  }
  const json = (await res.json().catch(() => null)) as { data?: unknown; error?: unknown } | null;
  if (!res.ok || !json || json.data === undefined) {
    const error = json?.error;
    if (error && typeof error === 'object' && 'message' in error) {
      const { code, message } = error as { code?: string; message?: string };
      throw new AuthError(code ?? 'ERROR', message ?? 'Request failed');
    }
    throw new AuthError('ERROR', typeof error === 'string' ? error : `Request failed (${res.status})`);
  }
  return json.data;
}

async function authRequest(path: string, body: Record<string, unknown>): Promise<Session> {
  const data = await authPost(path, body);
  if (!isSession(data)) throw new AuthError('ERROR', 'Request failed (unexpected answer)');
  return pick(data as SessionResponse);
}

export function signIn(email: string, password: string, keepSignedIn: boolean): Promise<Session> {
  return authRequest(AUTH_ROUTES.login, { email, password, keepSignedIn });
}

/** "Keep me signed in" chosen at registration, for the confirmation link opened in this browser. */
const KEEP_AFTER_CONFIRM_KEY = 'fetchwork.keepAfterConfirm';

/**
 * Asks for an account: the server mails a confirmation link (or, for an email that has an
 * account, a notice) and answers the same either way. The account exists once the link is
 * opened (confirmRegistration).
 */
export async function register(name: string, email: string, password: string, keepSignedIn: boolean): Promise<void> {
  await authPost(AUTH_ROUTES.register, { name, email, password });
  try {
    localStorage.setItem(KEEP_AFTER_CONFIRM_KEY, keepSignedIn ? '1' : '0');
  } catch {
    // storage off: the confirming tab uses the default
  }
}

/** The confirmation token of a `#/confirm/<token>` URL hash, or null. */
export function confirmationTokenOf(hash: string): string | null {
  return hash.startsWith(CONFIRM_HASH_PREFIX) ? hash.slice(CONFIRM_HASH_PREFIX.length) || null : null;
}

/**
 * Opens a mailed confirmation link: creates the account and signs in (as signIn). `keep` is the
 * choice made at registration in this browser, else defaultKeepSignedIn().
 */
export async function confirmRegistration(token: string): Promise<{ session: Session; keep: boolean }> {
  let keep = defaultKeepSignedIn();
  try {
    const chosen = localStorage.getItem(KEEP_AFTER_CONFIRM_KEY);
    if (chosen !== null) keep = chosen === '1';
  } catch {
    // storage off: the default
  }
  const session = await authRequest(AUTH_ROUTES.confirm, { token, keepSignedIn: keep });
  try {
    localStorage.removeItem(KEEP_AFTER_CONFIRM_KEY);
  } catch {
    // nothing kept
  }
  return { session, keep };
}

/**
 * A new access token from the refresh cookie and this page's device key (rotating the cookie).
 * `ended`: the server says the session is over (signed out elsewhere, expired, or its credential
 * was reused); `offline`: it could not be asked (try again later).
 */
export async function refreshSession(
  deviceKey: string,
): Promise<{ ok: true; session: Session } | { ok: false; reason: 'ended' | 'offline' }> {
  try {
    return { ok: true, session: await authRequest(AUTH_ROUTES.refresh, { deviceKey }) };
  } catch (err) {
    if (err instanceof AuthError && (err.code === 'UNAUTHORIZED' || err.code === 'SESSION_REVOKED')) return { ok: false, reason: 'ended' };
    return { ok: false, reason: 'offline' };
  }
}

/**
 * Ends the session on the server (and clears its cookie and the API origin's HTTP cache), or
 * every session of the user. Best effort: offline, the device key is deleted anyway, which
 * leaves the cookie worth nothing.
 */
export async function signOutOnServer(session: Session, everywhere: boolean): Promise<boolean> {
  // "Everywhere" is authorised by the access token, which may have run out while the tab slept.
  let token = session.token;
  if (everywhere && session.deviceKey) {
    const fresh = await refreshSession(session.deviceKey);
    if (fresh.ok) token = fresh.session.token;
  }
  try {
    const res = await fetch(`${API_URL}${everywhere ? AUTH_ROUTES.logoutAll : AUTH_ROUTES.logout}`, {
      method: 'POST',
      credentials: 'include',
      headers: {
        'content-type': 'application/json',
        [AUTH_REQUEST_HEADER]: '1',
        ...(everywhere ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(everywhere ? {} : { deviceKey: session.deviceKey }),
    });
    return res.ok;
  } catch {
    return false;
  }
}
