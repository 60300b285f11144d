import type { ClientToServerEvents, ServerToClientEvents } from '@fetchwork/shared-schema';
import { filter, firstValueFrom, type Observable, timeout } from 'rxjs';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { converse, newUser, startPresenceServer, type User } from '../../sync-server/test/support/presence';
import { type TestServer, waitFor } from '../../sync-server/test/support/test-server';
import type { PresenceFactory } from '../src/inbox/presence';
import { createPresenceClient, type PresenceClientOptions } from '../src/sync/presence-client';

// The inbox's presence slot takes this module as it is.
const asFactory: PresenceFactory = createPresenceClient;
void asFactory;

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serverWith(options: Parameters<typeof startPresenceServer>[0]): Promise<TestServer> {
  const server = await startPresenceServer(options);
  cleanups.push(() => server.stop());
  return server;
}

/** A reconnecting socket, as the app has one, with a presence client on it. */
async function device(server: TestServer, user: User, options: PresenceClientOptions = {}) {
  const socket: ClientSocket = io(server.url, {
    auth: { token: user.token },
    transports: ['websocket'],
    forceNew: true,
    reconnectionDelay: 50,
    reconnectionDelayMax: 100,
  });
  const presence = createPresenceClient(socket, options);
  cleanups.push(() => {
    presence.dispose();
    socket.close();
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, presence };
}

function until<T>(source: Observable<T>, predicate: (value: T) => boolean, what: string): Promise<T> {
  return firstValueFrom(
    source.pipe(filter(predicate), timeout({ first: 10_000, with: () => Promise.reject(new Error(`timed out waiting for ${what}`)) })),
  );
}

const same = (expected: string[]) => (value: string[]) => JSON.stringify(value) === JSON.stringify(expected);

describe('createPresenceClient against the real server', () => {
  it('shows a contact online and typing, and both clear', async () => {
    const server = await serverWith({ graceMs: 50 });
    const [a, b] = [newUser(), newUser()];
    const conversationId = await converse(server, a, b);
    const bDevice = await device(server, b);
    expect(await firstValueFrom(bDevice.presence.online$(a.id))).toBe(false);
    const aDevice = await device(server, a);
    await until(bDevice.presence.online$(a.id), (v) => v, 'A online for B');
    await until(aDevice.presence.online$(b.id), (v) => v, 'B online for A (from presence:state)');

    aDevice.presence.setTyping(conversationId, true);
    await until(bDevice.presence.typingUsers$(conversationId), same([a.id]), 'A typing for B');
    aDevice.presence.setTyping(conversationId, false);
    await until(bDevice.presence.typingUsers$(conversationId), same([]), 'A no longer typing');

    aDevice.socket.close();
    await until(bDevice.presence.online$(a.id), (v) => !v, 'A offline for B');
  });

  it('keeps typing alive while it is on, past the server’s expiry', async () => {
    const server = await serverWith({ graceMs: 50, typingTtlMs: 1_000, typingThrottleMs: 0 });
    const [a, b] = [newUser(), newUser()];
    const conversationId = await converse(server, a, b);
    const bDevice = await device(server, b);
    const aDevice = await device(server, a, { keepAliveMs: 100 });
    const relayed: string[] = [];
    bDevice.socket.on('typing:start', () => relayed.push('start'));
    bDevice.socket.on('typing:stop', () => relayed.push('stop'));
    aDevice.presence.setTyping(conversationId, true);
    // Enough keep-alives to outlast the 1 s server expiry several times over.
    await waitFor(() => relayed.length >= 15, 'keep-alive starts');
    expect(relayed.filter((e) => e === 'stop')).toEqual([]);
    aDevice.presence.setTyping(conversationId, false);
    await until(bDevice.presence.typingUsers$(conversationId), same([]), 'typing to end');
  });

  it('forgets everything on disconnect and rebuilds from the server on reconnect', async () => {
    const server = await serverWith({ graceMs: 60_000 });
    const [a, b] = [newUser(), newUser()];
    const conversationId = await converse(server, a, b);
    const aDevice = await device(server, a);
    const bDevice = await device(server, b);
    await until(bDevice.presence.online$(a.id), (v) => v, 'A online for B');
    aDevice.presence.setTyping(conversationId, true);
    await until(bDevice.presence.typingUsers$(conversationId), same([a.id]), 'A typing for B');

    const states: boolean[] = [];
    const sub = bDevice.presence.online$(a.id).subscribe((v) => states.push(v));
    cleanups.push(() => sub.unsubscribe());
    // Drop B's transport: socket.io reconnects by itself, and the server sends presence:state again.
    bDevice.socket.io.engine.close();
    await until(bDevice.presence.typingUsers$(conversationId), same([]), 'typing forgotten on disconnect');
    await until(bDevice.presence.online$(a.id), (v) => v, 'A online again after the reconnect');
    expect(states).toEqual([true, false, true]);
  });

  it('announces its own typing again after its socket reconnects', async () => {
    const server = await serverWith({ graceMs: 60_000, typingThrottleMs: 0 });
    const [a, b] = [newUser(), newUser()];
    const conversationId = await converse(server, a, b);
    const aDevice = await device(server, a, { keepAliveMs: 60_000 });
    const bDevice = await device(server, b);
    const starts: string[] = [];
    bDevice.socket.on('typing:start', (e) => starts.push(e.userId));
    aDevice.presence.setTyping(conversationId, true);
    await until(bDevice.presence.typingUsers$(conversationId), same([a.id]), 'A typing for B');
    aDevice.socket.io.engine.close();
    await new Promise<void>((resolve) => aDevice.socket.once('connect', () => resolve()));
    // No keep-alive is due and the server throttles nothing: a second start is the re-announcement.
    await waitFor(() => starts.length >= 2, 'A typing again after reconnect');
    expect(starts).toEqual([a.id, a.id]);
    expect(await firstValueFrom(bDevice.presence.typingUsers$(conversationId))).toEqual([a.id]);
  });
});
