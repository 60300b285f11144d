import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export interface LinkClaims {
  fileId: string;
  userId: string;
  messageId: string | null;
  inline: boolean;
  /** Unix seconds. */
  expires: number;
}

/**
 * Download links that work without a token (a browser navigation cannot send one) for one user
 * and file, until they expire. The key is derived from the JWT secret, so every instance of a
 * deployment checks every other's links and no new secret has to be configured.
 */
export class LinkSigner {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'fetchwork-files', 'download-links', 32));
  }

  query(c: LinkClaims): string {
    const params = new URLSearchParams({
      u: c.userId,
      e: String(c.expires),
      d: c.inline ? 'inline' : 'attachment',
    });
    if (c.messageId) params.set('m', c.messageId);
    params.set('s', this.sign(c));
    return params.toString();
  }

  /** The claims of a link for this file, or null when it is forged, altered or expired. */
  verify(fileId: string, query: Record<string, unknown>, nowSeconds: number): LinkClaims | null {
    const { u, e, d, m, s } = query;
    if (typeof u !== 'string' || typeof e !== 'string' || typeof s !== 'string' || (d !== 'inline' && d !== 'attachment')) return null;
    if (m !== undefined && typeof m !== 'string') return null;
    const expires = Number(e);
    if (!Number.isSafeInteger(expires) || expires < nowSeconds) return null;
    const claims: LinkClaims = { fileId, userId: u, messageId: m ?? null, inline: d === 'inline', expires };
    const expected = Buffer.from(this.sign(claims));
    const given = Buffer.from(s);
    return expected.length === given.length && timingSafeEqual(expected, given) ? claims : null;
  }

  private sign(c: LinkClaims): string {
    return createHmac('sha256', this.key)
      .update([c.fileId, c.userId, c.messageId ?? '', c.inline ? 'i' : 'a', c.expires].join('\n'))
      .digest('base64url');
  }
}
