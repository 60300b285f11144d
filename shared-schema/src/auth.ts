import { z } from 'zod';

/**
 * Sessions in standalone mode (docs/protocol.md "Sessions"): a short-lived access token (JWT) in
 * the page, and a refresh credential in an httpOnly cookie scoped to `/api/auth` that the page's
 * scripts cannot read. `refresh` rotates it; presenting an already rotated one ends the session
 * (every device holding that family is signed out). In a FetchWork deployment FetchWork signs
 * users in: these routes answer 404 `AUTH_DISABLED` and the host app supplies tokens.
 */
export const AUTH_ROUTES = {
  /**
   * POST {name, email, password} → always 202 RegisterResponse, whether or not the email has an
   * account (no enumeration): a new email is mailed a confirmation link, a registered one a notice.
   */
  register: '/api/auth/register',
  /** POST {token} (from the mailed link `#/confirm/<token>`) → 201 SessionResponse + refresh cookie, like login. */
  confirm: '/api/auth/confirm',
  login: '/api/auth/login',
  /** POST, cookie + AUTH_REQUEST_HEADER → SessionResponse with a new access token; rotates the cookie. */
  refresh: '/api/auth/refresh',
  /** POST, cookie + AUTH_REQUEST_HEADER → 204: ends this session server-side, clears the cookie and the HTTP cache. */
  logout: '/api/auth/logout',
  /** POST with the bearer access token → 204: ends every session of the user; their sockets are cut. */
  logoutAll: '/api/auth/logout-all',
} as const;

/**
 * Every request that carries the refresh cookie must send this header (value `1`). A cross-site
 * form or image cannot add a header, and a cross-origin script needs a CORS preflight that only
 * CLIENT_ORIGIN passes: the cookie alone never refreshes or ends a session.
 */
export const AUTH_REQUEST_HEADER = 'x-fetchwork-auth';

export interface SessionUser {
  id: string;
  name: string;
  email: string;
}

export interface SessionResponse {
  /** The access token (JWT) for the socket handshake and `Authorization: Bearer`. */
  token: string;
  /** When the access token expires, epoch milliseconds. */
  expiresAt: number;
  user: SessionUser;
  /**
   * Only from sign-in and registration: the page's half of the session, sent with every refresh
   * and logout. Kept beside the user in the page's storage and deleted at sign-out, so a refresh
   * cookie left behind (a sign-out while offline, a browser that restores session cookies) signs
   * no one in.
   */
  deviceKey?: string;
}

/** Socket: a fresh access token for the open connection, so it never has to disconnect at expiry. */
export const authRenewPayloadSchema = z.strictObject({ token: z.string().min(1).max(4096) });
export type AuthRenewPayload = z.infer<typeof authRenewPayloadSchema>;
export interface AuthRenewResult {
  expiresAt: number | null;
}

/** How long a socket whose token expired waits for `auth:renew` before the server disconnects it. */
export const AUTH_RENEW_GRACE_MS = 15_000;

/** The answer to every accepted registration: the rest happens by mail. */
export interface RegisterResponse {
  status: 'confirmation_sent';
}

/** Where the app reads a confirmation link's token: `${APP_URL}/#/confirm/<token>`. */
export const CONFIRM_HASH_PREFIX = '#/confirm/';

/** Body of refresh and logout: the page's half of the session (the cookie is the other half). */
export const refreshBodySchema = z.strictObject({ deviceKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a device key') });
export type RefreshBody = z.infer<typeof refreshBodySchema>;
