import { jwtExpiryMs, renewalDueMs } from './jwt-expiry';
import { SESSION_REFRESH_LOCK } from './refresh-lock';
import { refreshSession, type Session } from './session';

/** A token with less than this left is renewed before use (the socket renews at half of it). */
export const TOKEN_RENEW_MARGIN_MS = 2 * 60_000;

export interface TokenSourceHandlers {
  /** The refreshed session, to keep where the session is kept (and tell the other tabs). */
  refreshed(session: Session): void;
  /** The server says the session is over: the user must sign in again. */
  ended(): void;
  /** The session as stored now (another tab may have refreshed it), if the page keeps it where tabs share it. */
  latest?(): Session | null;
}

const expiryOf = (s: Session) => (typeof s.expiresAt === 'number' ? s.expiresAt : (jwtExpiryMs(s.token) ?? 0));
/** Whether the session's token still has enough time left to be handed out. */
const fresh = (s: Session) => Date.now() < (renewalDueMs(s.token, TOKEN_RENEW_MARGIN_MS) ?? expiryOf(s));

/**
 * The access token for the socket, REST and uploads: the current one while it has time left,
 * otherwise a new one from the refresh cookie. Refreshes are single-flight in the tab and take
 * turns across tabs (Web Locks), so two tabs never present the same credential at once (the
 * server tolerates it briefly, see ROTATION_LEEWAY_MS, but a race is a race).
 */
export class TokenSource {
  private inFlight: Promise<string | null> | null = null;

  constructor(
    private session: Session,
    private readonly handlers: TokenSourceHandlers,
  ) {}

  current(): Session {
    return this.session;
  }

  /** Another tab refreshed: its token is as good as ours (the cookie it rotated is shared). */
  adopt(session: Session): void {
    if (session.user.id === this.session.user.id && expiryOf(session) > expiryOf(this.session)) this.session = session;
  }

  get = (): Promise<string | null> => {
    if (fresh(this.session)) return Promise.resolve(this.session.token);
    return this.refresh();
  };

  refresh(): Promise<string | null> {
    const deviceKey = this.session.deviceKey;
    // A session without a device key (from before sessions rotated) cannot refresh: its token is used until it expires.
    if (!deviceKey) return Promise.resolve(this.session.token);
    this.inFlight ??= withLock(async () => {
      // Another tab may have refreshed while this one waited for the lock.
      const stored = this.handlers.latest?.();
      if (stored) this.adopt(stored);
      if (fresh(this.session)) return this.session.token;
      const result = await refreshSession(deviceKey);
      if (result.ok) {
        this.session = { ...result.session, deviceKey };
        this.handlers.refreshed(this.session);
        return this.session.token;
      }
      if (result.reason === 'ended') {
        this.handlers.ended();
        return null;
      }
      // Offline: the old token (perhaps expired); the socket's retries ask again.
      return this.session.token;
    }).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }
}

function withLock<T>(work: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  return locks ? locks.request(SESSION_REFRESH_LOCK, work) : work();
}
