/**
 * Which push endpoints the server will POST to. A subscription's endpoint is a URL the client
 * chose, so without a policy any user could make the server send requests into its own network.
 */
export interface EndpointPolicy {
  /** Hosts (and their subdomains) of push services; `*`: any https host. */
  hosts: readonly string[] | '*';
  /** http to 127.0.0.1/localhost (a push endpoint run by tests or a local push emulator); never in production. */
  allowLoopbackHttp: boolean;
}

/** The push services of Chromium browsers (FCM), Firefox (Mozilla autopush), Safari (Apple) and Edge (WNS). */
export const KNOWN_PUSH_SERVICE_HOSTS: readonly string[] = [
  'fcm.googleapis.com',
  'android.googleapis.com',
  'push.services.mozilla.com',
  'push.apple.com',
  'notify.windows.com',
];

export const DEFAULT_ENDPOINT_POLICY: EndpointPolicy = { hosts: KNOWN_PUSH_SERVICE_HOSTS, allowLoopbackHttp: false };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why this endpoint is refused, or null when it may be used. */
export function endpointRefusal(endpoint: string, policy: EndpointPolicy): string | null {
  if (!URL.canParse(endpoint)) return 'is not a URL';
  const url = new URL(endpoint);
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol === 'http:') return policy.allowLoopbackHttp && LOOPBACK.has(url.hostname) ? null : 'must be an https url';
  if (url.protocol !== 'https:') return 'must be an https url';
  if (policy.hosts === '*') return null;
  const host = url.hostname.toLowerCase();
  return policy.hosts.some((h) => host === h || host.endsWith(`.${h}`)) ? null : 'is not a known push service';
}
