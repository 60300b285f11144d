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

/** Issuer and audience of the tokens this server issues in standalone mode (and demands there). */
export const OWN_TOKEN_CLAIMS = { issuer: 'fetchwork-messaging', audience: 'fetchwork-messaging' } as const;

/**
 * What a token must be to be accepted. `issuer`/`audience` are demanded when set: always for the
 * tokens this server issues (standalone); for FetchWork's tokens only when JWT_ISSUER/JWT_AUDIENCE
 * say what FetchWork puts there. A token without `exp` is never accepted.
 */
export interface TokenPolicy {
  secret: string;
  issuer?: string;
  audience?: string;
}

export interface AuthUser {
  id: string;
  name: string | null;
  email: string | null;
  /** Expiry as epoch milliseconds (every accepted token has one; null only for built-in callers such as the demo seed). */
  expiresAt: number | null;
  /** The session (refresh family) a token this server issued belongs to (`sid`); null for FetchWork's tokens. */
  sessionId: string | null;
}

export type VerifyFailure = 'missing' | 'invalid' | 'expired' | 'revoked';
export type VerifyResult = { ok: true; user: AuthUser } | { ok: false; reason: VerifyFailure };

/**
 * The one verify function for HTTP and the socket handshake. FetchWork tokens carry the user id
 * as `userId`, `id` or `sub` (24-hex ObjectIds); `name` and `email` are optional claims.
 */
export function verifyToken(token: string | undefined | null, policy: TokenPolicy): VerifyResult {
  if (!token) return { ok: false, reason: 'missing' };
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, keyFor(policy.secret), {
      algorithms: ['HS256', 'HS384', 'HS512'],
      ...(policy.issuer ? { issuer: policy.issuer } : {}),
      ...(policy.audience ? { audience: policy.audience } : {}),
    });
  } catch (err) {
    return { ok: false, reason: err instanceof jwt.TokenExpiredError ? 'expired' : 'invalid' };
  }
  if (typeof payload !== 'object' || payload === null) return { ok: false, reason: 'invalid' };
  // A token that never expires cannot be taken back once it leaks.
  if (typeof payload.exp !== 'number') return { ok: false, reason: 'invalid' };
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
      expiresAt: payload.exp * 1000,
      sessionId: typeof payload.sid === 'string' ? payload.sid.slice(0, 64) : null,
    },
  };
}

export interface AccessTokenClaims {
  userId: string;
  name: string;
  email: string;
  /** The session (refresh family) it belongs to: revoking the session ends it. */
  sid: string;
}

/** A short-lived access token of this server (standalone mode), with its own issuer and audience. */
export function signAccessToken(claims: AccessTokenClaims, secret: string, ttlSeconds: number): { token: string; expiresAt: number } {
  const now = Math.floor(Date.now() / 1000);
  const token = jwt.sign({ ...claims, iat: now }, keyFor(secret), {
    algorithm: 'HS256',
    expiresIn: ttlSeconds,
    issuer: OWN_TOKEN_CLAIMS.issuer,
    audience: OWN_TOKEN_CLAIMS.audience,
  });
  return { token, expiresAt: (now + ttlSeconds) * 1000 };
}
