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

const STORAGE_KEY = 'fetchwork.session';

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

/** The stored session, kept across reloads so the installed app opens offline without signing in. */
export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    const parsed: unknown = raw ? JSON.parse(raw) : null;
    return isSession(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  localStorage.removeItem(STORAGE_KEY);
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
