import { NOTIFICATION_ROUTES } from '@fetchwork/shared-schema';
import jwt from 'jsonwebtoken';
import webpush from 'web-push';
import { OWN_TOKEN_CLAIMS } from '../../src/auth/tokens';
import type { NotificationsOptions } from '../../src/notifications';
import { type PushEndpoint, startPushEndpoint, type TestSubscription } from '../support/push-endpoint';
import { api, type ClientSocket, connect, newUserId, startTestServer, TEST_SECRET, type TestServer } from '../support/test-server';

export const VAPID = { ...webpush.generateVAPIDKeys(), subject: 'mailto:push-tests@fetchwork.dev' };

/** Loopback endpoints (the test's push service) allowed; retries quick, but Retry-After of a second or two still honoured. */
export const TEST_NOTIFICATIONS: NotificationsOptions = {
  vapid: VAPID,
  endpoints: { hosts: '*', allowLoopbackHttp: true },
  queue: { baseDelayMs: 10, maxDelayMs: 5_000 },
};

export interface User {
  id: string;
  name: string;
  token: string;
}

/** A user with a token as this server issues them; `sessionId` puts a `sid` in it (pass `id` for another session of the same user). */
export function user(name: string, sessionId?: string, id = newUserId()): User {
  const token = jwt.sign({ userId: id, name, ...(sessionId ? { sid: sessionId } : {}) }, TEST_SECRET, {
    algorithm: 'HS256',
    expiresIn: 3600,
    ...OWN_TOKEN_CLAIMS,
  });
  return { id, name, token };
}

export async function startWithPush(
  options: Parameters<typeof startTestServer>[0] = {},
): Promise<{ server: TestServer; push: PushEndpoint }> {
  const push = await startPushEndpoint(VAPID.publicKey);
  const server = await startTestServer({ notifications: TEST_NOTIFICATIONS, ...options });
  return { server, push };
}

export async function conversation(server: { url: string }, a: User, b: User, jobId?: string): Promise<string> {
  const res = await api(server, 'POST', '/api/messages/conversations', a.token, { participantId: b.id, ...(jobId ? { jobId } : {}) });
  if (res.status >= 300) throw new Error(`conversation: ${JSON.stringify(res.body)}`);
  return res.body.data.id;
}

export async function send(server: { url: string }, from: User, conversationId: string, content: string): Promise<string> {
  const res = await api(server, 'POST', `/api/messages/conversations/${encodeURIComponent(conversationId)}/messages`, from.token, {
    content,
  });
  if (res.status !== 201) throw new Error(`send: ${JSON.stringify(res.body)}`);
  return res.body.data.id;
}

export async function subscribe(server: { url: string }, who: User, push: PushEndpoint): Promise<TestSubscription> {
  const sub = push.subscribe();
  const res = await api(server, 'POST', NOTIFICATION_ROUTES.subscriptions, who.token, { subscription: sub.json });
  if (res.status !== 201) throw new Error(`subscribe: ${JSON.stringify(res.body)}`);
  return sub;
}

export function focus(socket: ClientSocket, conversationId: string | null): Promise<any> {
  return (socket.timeout(5000) as any).emitWithAck('notifications:focus', { conversationId });
}

export async function socketOf(server: { url: string }, who: User): Promise<ClientSocket> {
  return connect(server.url, who.token);
}

/** Every decision made and every push sent or given up, on each server. */
export async function settled(...servers: { notifications: { idle(): Promise<void> } }[]): Promise<void> {
  await Promise.all(servers.map((s) => s.notifications.idle()));
}
