import { API_URL } from '../config';
import type { SessionUser } from '../inbox-api';

/**
 * The signed-in user and their JWT. Signing in is the one network call outside the data layer:
 * it has to happen before there is a replica to talk to.
 */
export interface Session {
  token: string;
  user: SessionUser;
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

/** A stored session as text, or null (also for anything that is not one). */
export function parseSession(raw: string | null): Session | null {
  try {
    const parsed: unknown = raw ? JSON.parse(raw) : null;
    return isSession(parsed) ? { token: parsed.token, user: parsed.user } : null;
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
  const raw = JSON.stringify({ token: session.token, user: session.user });
  if (persistent) {
    localStorage.setItem(SESSION_KEY, raw);
    sessionStorage.removeItem(SESSION_KEY);
  } else {
    sessionStorage.setItem(SESSION_KEY, raw);
    localStorage.removeItem(SESSION_KEY);
  }
  return { token: session.token, user: session.user, persistent };
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

/** Seconds-since-epoch expiry of a JWT, or null when it has none or cannot be read. */
export function tokenExpiry(token: string): number | null {
  try {
    const payload = token.split('.')[1];
    if (!payload) return null;
    const json = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    return typeof json.exp === 'number' ? json.exp : null;
  } catch {
    return null;
  }
}

async function authRequest(path: 'login' | 'register', body: Record<string, string>): Promise<Session> {
  let res: Response;
  try {
    res = await fetch(`${API_URL}/api/auth/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new AuthError('NETWORK', 'Cannot reach the server. Check your connection and try again.');
  }
  const json = (await res.json().catch(() => null)) as { data?: unknown; error?: unknown } | null;
  if (!res.ok || !json || !isSession(json.data)) {
    const error = json?.error;
    if (error && typeof error === 'object' && 'message' in error) {
      const { code, message } = error as { code?: string; message?: string };
      throw new AuthError(code ?? 'ERROR', message ?? 'Request failed');
    }
    throw new AuthError('ERROR', typeof error === 'string' ? error : `Request failed (${res.status})`);
  }
  return json.data;
}

export function signIn(email: string, password: string): Promise<Session> {
  return authRequest('login', { email, password });
}

export function register(name: string, email: string, password: string): Promise<Session> {
  return authRequest('register', { name, email, password });
}
