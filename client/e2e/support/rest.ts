import type { TestUser } from './browser';

/** FetchWork's REST API, as the existing web app and other services call it. */
export async function rest<T = unknown>(apiUrl: string, user: TestUser, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${user.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as { data?: T; error?: unknown };
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json.error)}`);
  return json.data as T;
}

/** Sends a message through REST (creating the conversation if needed); returns the conversation id. */
export async function restSend(apiUrl: string, from: TestUser, to: TestUser, content: string): Promise<string> {
  const conversation = await rest<{ id: string }>(apiUrl, from, 'POST', '/api/messages/conversations', { participantId: to.id });
  await rest(apiUrl, from, 'POST', `/api/messages/conversations/${encodeURIComponent(conversation.id)}/messages`, { content });
  return conversation.id;
}

/** Sends `contents` in order through REST (one conversation); returns the conversation id. */
export async function restSendMany(apiUrl: string, from: TestUser, to: TestUser, contents: readonly string[]): Promise<string> {
  const [first, ...others] = contents;
  if (first === undefined) throw new Error('restSendMany needs at least one message');
  const conversationId = await restSend(apiUrl, from, to, first);
  for (const content of others) {
    await rest(apiUrl, from, 'POST', `/api/messages/conversations/${encodeURIComponent(conversationId)}/messages`, { content });
  }
  return conversationId;
}
