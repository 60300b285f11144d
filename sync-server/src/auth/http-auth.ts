import { createHash, timingSafeEqual } from 'node:crypto';
import { errorBody } from '@fetchwork/shared-schema';
import type { NextFunction, Request, Response } from 'express';
import type { AccessTokens } from './access-tokens';
import type { AuthUser, VerifyFailure } from './tokens';

declare global {
  namespace Express {
    interface Request {
      user?: AuthUser;
    }
  }
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, token] = header.split(' ');
  return scheme?.toLowerCase() === 'bearer' && token ? token : null;
}

/** Keeps FetchWork's answers: 401 `Access token required`, 403 `Invalid token`. */
export function requireAuth(access: AccessTokens) {
  return (req: Request, res: Response, next: NextFunction) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) {
      res.status(401).json({ error: 'Access token required' });
      return;
    }
    const result = access.verify(token);
    if (!result.ok) {
      res.status(403).json({ error: 'Invalid token' });
      return;
    }
    req.user = result.user;
    next();
  };
}

const REFUSALS: Record<VerifyFailure, string> = {
  missing: 'a valid bearer token is required',
  invalid: 'a valid bearer token is required',
  expired: 'token expired',
  revoked: 'this session has ended; sign in again',
};

/** The bearer token as on every new route: coded JSON errors, not FetchWork's legacy strings. */
export function requireBearer(access: AccessTokens) {
  return (req: Request, res: Response, next: NextFunction) => {
    const result = access.verify(bearerToken(req.headers.authorization));
    if (!result.ok) {
      const code = result.reason === 'revoked' ? 'SESSION_REVOKED' : 'UNAUTHORIZED';
      res.status(401).json(errorBody(code, REFUSALS[result.reason]));
      return;
    }
    req.user = result.user;
    next();
  };
}

export function currentUser(req: Request): AuthUser {
  if (!req.user) throw new Error('requireAuth did not run before this route');
  return req.user;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * A fixed shared secret as a bearer token (the metrics scraper's, not a user's JWT). Compared as
 * SHA-256 digests with timingSafeEqual: equal lengths, and the time says nothing about the token.
 */
export function requireStaticToken(token: string, realm: string) {
  const expected = digest(token);
  return (req: Request, res: Response, next: NextFunction) => {
    const given = bearerToken(req.headers.authorization);
    if (given !== null && timingSafeEqual(digest(given), expected)) return next();
    res.setHeader('WWW-Authenticate', `Bearer realm="${realm}"`);
    res.status(401).json(errorBody('UNAUTHORIZED', `a bearer token is required for ${realm}`));
  };
}
