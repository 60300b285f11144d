import { createHash, timingSafeEqual } from 'node:crypto';
import { errorBody } from '@fetchwork/shared-schema';
import type { NextFunction, Request, Response } from 'express';
import { type AuthUser, verifyToken } from './tokens';

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
export function requireAuth(secret: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) {
      res.status(401).json({ error: 'Access token required' });
      return;
    }
    const result = verifyToken(token, secret);
    if (!result.ok) {
      res.status(403).json({ error: 'Invalid token' });
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
