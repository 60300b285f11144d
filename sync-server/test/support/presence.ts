import { io as ioClient } from 'socket.io-client';
import { afterEach, expect } from 'vitest';
import type { PresenceOptions } from '../../src/realtime/presence';
import { api, type ClientSocket, newUserId, startTestServer, type TestServer, tokenFor, waitFor } from './test-server';

/** startTestServer with presence options (short grace and typing expiry, or a given store). */
export function startPresenceServer(presence: PresenceOptions): Promise<TestServer> {
  return startTestServer({ presence });
}

export interface Received {
  event: string;
  payload: any;
}

/** A connected socket that has recorded every server event since before its handshake. */
export interface Tab {
  socket: ClientSocket;
  events: Received[];
  /** The recorded events of one name, payloads only. */
  of(event: string): any[];
}

export async function openTab(server: TestServer, token: string): Promise<Tab> {
  const socket: ClientSocket = ioClient(server.url, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    autoConnect: false,
  });
  const events: Received[] = [];
  // Attached before connecting: `presence:state` may follow the handshake at once.
  socket.onAny((event: string, payload: unknown) => events.push({ event, payload }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
    socket.connect();
  });
  return { socket, events, of: (event) => events.filter((e) => e.event === event).map((e) => e.payload) };
}

export interface User {
  id: string;
  token: string;
}

export function newUser(): User {
  const id = newUserId();
  return { id, token: tokenFor(id) };
}

/**
 * Creates the conversation of two users over REST, so no socket (and no presence) is involved.
 * Both write one message in it unless `reply: false`: presence and typing flow only between users
 * who have both written in a shared conversation (docs/presence.md, "Consent").
 */
export async function converse(server: TestServer, a: User, b: User, options: { reply?: boolean } = {}): Promise<string> {
  const res = await api(server, 'POST', '/api/messages/conversations', a.token, { participantId: b.id });
  if (res.status >= 300) throw new Error(`conversation create failed: ${res.status} ${JSON.stringify(res.body)}`);
  const id: string = res.body.data.id;
  if (options.reply === false) return id;
  for (const writer of [a, b]) {
    const sent = await api(server, 'POST', `/api/messages/conversations/${encodeURIComponent(id)}/messages`, writer.token, {
      content: 'hi',
    });
    if (sent.status >= 300) throw new Error(`message failed: ${sent.status} ${JSON.stringify(sent.body)}`);
  }
  return id;
}

/**
 * Every event the server has sent to this tab so far has arrived: once the server's presence work
 * is idle, an ack on the same connection comes after anything emitted to it before.
 */
export async function settled(server: TestServer, ...tabs: Tab[]): Promise<void> {
  await server.presence.idle();
  for (const tab of tabs) {
    const answer = await (tab.socket.timeout(5000) as any).emitWithAck('sync:pull', {
      collection: 'messages',
      checkpoint: null,
      batchSize: 1,
    });
    expect(answer.error).toBeUndefined();
  }
}

/** Waits until the server has seen exactly this many sockets go (it counts only live ones). */
export async function serverSockets(server: TestServer, count: number): Promise<void> {
  await waitFor(() => server.io.of('/').sockets.size === count, `${count} sockets on the server`);
}

/** The presence events about one user, in arrival order. */
export function presenceOf(tab: Tab, userId: string): string[] {
  return tab.events
    .filter((e) => (e.event === 'user:online' || e.event === 'user:offline') && e.payload.userId === userId)
    .map((e) => e.event);
}

export function typingEvents(tab: Tab): Received[] {
  return tab.events.filter((e) => e.event.startsWith('typing:'));
}

/**
 * A presence server (short grace) and tabs on it, stopped and closed after each test of the file
 * that calls this at its top level.
 */
export function presenceFixture(): { server(): Promise<TestServer>; tab(server: TestServer, token: string): Promise<Tab> } {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    async server() {
      const s = await startPresenceServer({ graceMs: 50 });
      cleanups.push(() => s.stop());
      return s;
    },
    async tab(s, token) {
      const t = await openTab(s, token);
      cleanups.push(() => t.socket.close());
      return t;
    },
  };
}
