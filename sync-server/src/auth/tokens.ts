import { createSecretKey, type KeyObject } from 'node:crypto';
import { userIdSchema } from '@fetchwork/shared-schema';
import jwt from 'jsonwebtoken';

/**
 * jsonwebtoken given a string secret first tries to read it as a public key and catches the
 * failure: ~0.4 ms per verify (measured by the files bench), on every request and handshake.
 * A secret KeyObject skips that (~10 µs).
 */
const keys = new Map<string, KeyObject>();
function keyFor(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keys.set(secret, key);
  }
  return key;
}

export interface AuthUser {
  id: string;
  name: string | null;
  email: string | null;
  /** Expiry as epoch milliseconds, or null for a token without `exp`. */
  expiresAt: number | null;
  /** The session (refresh family) a token this server issued belongs to (`sid`); null for FetchWork's tokens. */
  sessionId: string | null;
}

export type VerifyResult = { ok: true; user: AuthUser } | { ok: false; reason: 'missing' | 'invalid' | 'expired' };

/**
 * The one verify function for HTTP and the socket handshake. FetchWork tokens carry the user id
 * as `userId`, `id` or `sub` (24-hex ObjectIds); `name` and `email` are optional claims.
 */
export function verifyToken(token: string | undefined | null, secret: string): VerifyResult {
  if (!token) return { ok: false, reason: 'missing' };
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, keyFor(secret), { algorithms: ['HS256', 'HS384', 'HS512'] });
  } catch (err) {
    return { ok: false, reason: err instanceof jwt.TokenExpiredError ? 'expired' : 'invalid' };
  }
  if (typeof payload !== 'object' || payload === null) return { ok: false, reason: 'invalid' };
  const rawId = payload.userId ?? payload.id ?? payload.sub;
  const id = typeof rawId === 'string' ? rawId : null;
  // The same id rule as every payload: id-shaped and not an object-reserved name (`__proto__`).
  if (!id || !userIdSchema.safeParse(id).success) return { ok: false, reason: 'invalid' };
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v.slice(0, 100) : null);
  return {
    ok: true,
    user: {
      id,
      name: str(payload.name),
      email: str(payload.email),
      expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null,
      sessionId: typeof payload.sid === 'string' ? payload.sid.slice(0, 64) : null,
    },
  };
}

export function signToken(
  claims: { userId: string; name?: string; email?: string },
  secret: string,
  expiresInSeconds = 7 * 24 * 3600,
): string {
  return jwt.sign(claims, secret, { algorithm: 'HS256', expiresIn: expiresInSeconds });
}
