import { SESSION_REFRESH_LOCK } from '../auth/refresh-lock';
import { AUTH_REQUEST_HEADER, AUTH_ROUTES } from '@fetchwork/shared-schema';
import { byConversation, type MirroredMessage, type OutboxMirror } from './outbox-mirror';

/** An access token and whose it is: the mirror to drain is that user's. */
export interface WorkerSession {
  token: string;
  userId: string;
}

/** Thrown to make the browser run the sync event again later (network down, server busy). */
export class RetryLater extends Error {
  override name = 'RetryLater';
}

export type DrainResult =
  /** The token was refused (expired): what is left stays; the caller may refresh and drain again. */
  | { kind: 'unauthorized'; sent: string[] }
  | { kind: 'drained'; sent: string[] /** Refused for good: left for the app, which shows why. */; refused: string[] };

export interface DrainOptions {
  apiUrl: string;
  session: WorkerSession;
  mirror: OutboxMirror;
  fetch?: typeof fetch;
}

const messagesPath = (conversationId: string) => `/api/messages/conversations/${encodeURIComponent(conversationId)}/messages`;

async function errorCode(res: Response): Promise<string | null> {
  try {
    const body = (await res.json()) as { error?: { code?: string } | string };
    return typeof body.error === 'object' ? (body.error.code ?? null) : null;
  } catch {
    return null;
  }
}

/**
 * Whether the server did not take the token: 401 on the newer routes, and on FetchWork's legacy
 * routes (messages, notifications) 403 with the body `{ "error": "Invalid token" }`, which is also
 * how they answer an expired one. Any other 403 is a refusal of the request itself.
 */
export async function tokenRefused(res: Response): Promise<boolean> {
  if (res.status === 401) return true;
  if (res.status !== 403) return false;
  try {
    return ((await res.clone().json()) as { error?: unknown }).error === 'Invalid token';
  } catch {
    return false;
  }
}

/**
 * Sends the mirror's messages over REST with their own ids, one conversation after another and
 * each in creation order, and removes what the server stored. A message the page sends at the
 * same moment is stored once: the server answers a retried id with the stored message.
 *
 * Network failure, 408, 429 and 5xx throw RetryLater (what is left stays in the mirror); a token
 * the server does not take (`tokenRefused`) ends the drain as `unauthorized`. A
 * permanent refusal (4xx) stops that conversation, keeping its order: the app pushes it when it
 * opens and shows the refusal as it does for any message.
 */
export async function drainOutbox(options: DrainOptions): Promise<DrainResult> {
  const doFetch = options.fetch ?? fetch;
  const sent: string[] = [];
  const refused: string[] = [];
  const call = async (path: string, body: unknown): Promise<Response> => {
    try {
      return await doFetch(`${options.apiUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.session.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new RetryLater(`network: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const retryable = (res: Response) => res.status === 408 || res.status === 429 || res.status >= 500;

  const send = async (m: MirroredMessage): Promise<Response> =>
    call(messagesPath(m.conversationId), { id: m.id, content: m.content, messageType: m.messageType });

  for (const group of byConversation(await options.mirror.all())) {
    for (const m of group) {
      let res = await send(m);
      if (await tokenRefused(res)) return { kind: 'unauthorized', sent };
      // REST answers a conversation it does not have (or not for this user) 404 NOT_FOUND.
      if (res.status === 404 && ['NOT_FOUND', 'CONVERSATION_NOT_FOUND'].includes((await errorCode(res)) ?? '')) {
        // Written offline in a conversation the server has not seen: its id is derived from the
        // participants and job, so creating it here makes the same conversation the app would.
        const created = await call('/api/messages/conversations', {
          participantId: m.participantId,
          ...(m.jobId ? { jobId: m.jobId } : {}),
        });
        if (await tokenRefused(created)) return { kind: 'unauthorized', sent };
        if (retryable(created)) throw new RetryLater(`create conversation: ${created.status}`);
        if (created.ok) res = await send(m);
        if (await tokenRefused(res)) return { kind: 'unauthorized', sent };
      }
      if (res.ok) {
        await options.mirror.remove([m.id]);
        sent.push(m.id);
        continue;
      }
      if (retryable(res)) throw new RetryLater(`send: ${res.status}`);
      refused.push(m.id);
      break;
    }
  }
  return { kind: 'drained', sent, refused };
}

/**
 * An access token from the refresh cookie (AUTH_ROUTES.refresh). Null when there is no session to
 * refresh (401), or the server has no cookie sessions at all (a deployment where the host app
 * supplies tokens: background send is then unavailable). The refresh rotates the cookie, so it
 * runs under the same Web Lock as the page's own refresh (REFRESH_LOCK): two refreshes with one
 * cookie would present a rotated one, which ends the session.
 */
export async function refreshSession(
  apiUrl: string,
  deviceKey: string | null,
  doFetch: typeof fetch = fetch,
): Promise<WorkerSession | null> {
  const attempt = async (): Promise<WorkerSession | null> => {
    let res: Response;
    try {
      res = await doFetch(`${apiUrl}${AUTH_ROUTES.refresh}`, {
        method: 'POST',
        credentials: 'include',
        headers: { [AUTH_REQUEST_HEADER]: '1', 'content-type': 'application/json' },
        body: JSON.stringify(deviceKey ? { deviceKey } : {}),
      });
    } catch (err) {
      throw new RetryLater(`refresh: ${err instanceof Error ? err.message : String(err)}`);
    }
    // 400: no device key the server takes; 401/403: no session; 404: no cookie sessions here.
    if (res.status === 400 || res.status === 401 || res.status === 403 || res.status === 404) return null;
    if (!res.ok) throw new RetryLater(`refresh: ${res.status}`);
    const body = (await res.json()) as { data?: { token?: string; user?: { id?: string } } };
    const token = body.data?.token;
    const userId = body.data?.user?.id;
    return token && userId ? { token, userId } : null;
  };
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  return locks ? locks.request(SESSION_REFRESH_LOCK, attempt) : attempt();
}
