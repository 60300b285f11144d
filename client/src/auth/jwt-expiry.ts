/** A JWT's `exp` as epoch ms, or null when it has none or cannot be read (the page never verifies tokens; the server does). */
export function jwtExpiryMs(token: string): number | null {
  return claims(token)?.exp ?? null;
}

/**
 * When a token should be replaced: `margin` before it expires, but never less than a quarter of
 * its lifetime left (a 30 s token is renewed after ~22 s, not in a loop).
 */
export function renewalDueMs(token: string, marginMs: number): number | null {
  const c = claims(token);
  if (!c?.exp) return null;
  const lifetime = c.iat ? c.exp - c.iat : marginMs * 4;
  return c.exp - Math.min(marginMs, lifetime / 4);
}

function claims(token: string): { exp: number | null; iat: number | null } | null {
  try {
    const payload = token.split('.')[1];
    if (!payload) return null;
    const json = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    const ms = (v: unknown) => (typeof v === 'number' ? v * 1000 : null);
    return { exp: ms(json.exp), iat: ms(json.iat) };
  } catch {
    return null;
  }
}
