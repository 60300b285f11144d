import webpush from 'web-push';
import type { VapidKeys } from './vapid';

export interface PushTarget {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface PushMessageOptions {
  topic: string;
  ttlSeconds: number;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
}

export type SendOutcome =
  | { kind: 'sent'; status: number }
  /** The subscription no longer exists at the push service (404/410): remove it. */
  | { kind: 'gone'; status: number }
  /** Worth trying again (429, 5xx, no answer); `retryAfterMs` from the service's Retry-After. */
  | { kind: 'retry'; status: number | null; retryAfterMs: number | null; reason: string }
  /** Will not succeed as it is (400, 413, other 4xx, a subscription whose keys cannot encrypt). */
  | { kind: 'failed'; status: number | null; reason: string };

export interface PushSender {
  send(target: PushTarget, payload: string, options: PushMessageOptions): Promise<SendOutcome>;
}

/**
 * Standard Web Push: web-push signs the VAPID JWT and encrypts the payload (aes128gcm, RFC 8291);
 * the request itself goes out with fetch, because web-push's own transport speaks https only,
 * follows no timeout by default and hides nothing we need: here redirects are never followed
 * (an endpoint must not bounce the server elsewhere) and every request has a deadline.
 */
export class WebPushSender implements PushSender {
  constructor(
    private readonly vapid: VapidKeys,
    private readonly timeoutMs = 10_000,
  ) {}

  async send(target: PushTarget, payload: string, options: PushMessageOptions): Promise<SendOutcome> {
    let details: webpush.RequestDetails;
    try {
      details = webpush.generateRequestDetails(target, payload, {
        vapidDetails: this.vapid,
        TTL: options.ttlSeconds,
        urgency: options.urgency,
        topic: options.topic,
        contentEncoding: 'aes128gcm',
      });
    } catch (err) {
      return { kind: 'failed', status: null, reason: `cannot encrypt for this subscription: ${(err as Error).message}` };
    }
    // fetch sets the length from the body itself.
    const headers = Object.fromEntries(
      Object.entries(details.headers)
        .filter(([name]) => name.toLowerCase() !== 'content-length')
        .map(([name, value]) => [name, String(value)]),
    );
    let res: Response;
    try {
      res = await fetch(details.endpoint, {
        method: details.method,
        headers,
        body: details.body ? new Uint8Array(details.body) : undefined,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      return { kind: 'retry', status: null, retryAfterMs: null, reason: `no answer: ${(err as Error).message}` };
    }
    // The body is never needed; reading it frees the connection for the next push.
    await res.arrayBuffer().catch(() => undefined);
    const status = res.status;
    if (status >= 200 && status < 300) return { kind: 'sent', status };
    if (status === 404 || status === 410) return { kind: 'gone', status };
    if (status === 429 || status >= 500) {
      return {
        kind: 'retry',
        status,
        retryAfterMs: retryAfterMs(res.headers.get('retry-after')),
        reason: `push service answered ${status}`,
      };
    }
    return { kind: 'failed', status, reason: `push service answered ${status}` };
  }
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
