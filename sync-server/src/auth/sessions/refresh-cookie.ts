import { parse } from 'cookie';
import type { Request, Response } from 'express';

/**
 * Where the refresh credential lives in the browser: an httpOnly cookie the page's scripts cannot
 * read, sent only to `/api/auth`. Cross-site deployments (the app and the API on different sites)
 * need SameSite=None (Secure) and, for browsers that partition third-party cookies, Partitioned;
 * docs/operations.md "Sessions" says which to pick.
 */
export interface RefreshCookieSettings {
  name: string;
  sameSite: 'lax' | 'strict' | 'none';
  secure: boolean;
  partitioned: boolean;
  domain?: string;
  path: string;
}

export const DEFAULT_REFRESH_COOKIE: RefreshCookieSettings = {
  name: 'fw_refresh',
  sameSite: 'lax',
  secure: true,
  partitioned: false,
  path: '/api/auth',
};

export function readRefreshCookie(req: Request, settings: RefreshCookieSettings): string | undefined {
  const header = req.headers.cookie;
  return header ? parse(header)[settings.name] : undefined;
}

export function setRefreshCookie(
  res: Response,
  settings: RefreshCookieSettings,
  refresh: { value: string; persistent: boolean; maxAgeMs: number },
): void {
  res.cookie(settings.name, refresh.value, {
    ...options(settings),
    // Without "keep me signed in" a session cookie: gone with the browser session (and useless
    // anyway once the page's half in sessionStorage is gone).
    ...(refresh.persistent ? { maxAge: refresh.maxAgeMs } : {}),
  });
}

export function clearRefreshCookie(res: Response, settings: RefreshCookieSettings): void {
  res.clearCookie(settings.name, options(settings));
}

function options(s: RefreshCookieSettings) {
  return {
    httpOnly: true,
    secure: s.secure || s.sameSite === 'none',
    sameSite: s.sameSite,
    path: s.path,
    ...(s.domain ? { domain: s.domain } : {}),
    ...(s.partitioned ? { partitioned: true } : {}),
  } as const;
}
