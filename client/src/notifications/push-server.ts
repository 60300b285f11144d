import { NOTIFICATION_ROUTES } from '@fetchwork/shared-schema';

/** The server's VAPID public key (base64url); null when the server has push off (404 PUSH_DISABLED). */
export async function vapidPublicKey(apiUrl: string, doFetch: typeof fetch = fetch): Promise<string | null> {
  const res = await doFetch(`${apiUrl}${NOTIFICATION_ROUTES.vapidPublicKey}`);
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`vapid key: ${res.status}`);
  return ((await res.json()) as { data: { publicKey: string } }).data.publicKey;
}

export function base64UrlToBytes(value: string): Uint8Array<ArrayBuffer> {
  const base64 = value
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(value.length / 4) * 4, '=');
  const raw = atob(base64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** POST (store or update) or DELETE (remove) one of the caller's subscriptions. */
export function subscriptionRequest(
  apiUrl: string,
  token: string,
  method: 'POST' | 'DELETE',
  body: unknown,
  doFetch: typeof fetch = fetch,
): Promise<Response> {
  return doFetch(`${apiUrl}${NOTIFICATION_ROUTES.subscriptions}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}
