import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_EVENT_NAMES } from '../src/realtime/socket-limits';
import type { SyncSocket } from '../src/realtime/types';
import { connect, newUserId, type TestServer, startTestServer, tokenFor, waitFor } from './support/test-server';

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.stop();
});

const serverSockets = () => [...server.io.of('/').sockets.values()] as SyncSocket[];

describe('socket handlers', () => {
  // Memory per idle socket (docs/performance.md): a closure per socket and event was most of
  // what a signed-in socket held beyond raw Socket.io.
  it('every socket, of any user, holds the same handler functions: none is made per socket', async () => {
    const tabs = [];
    for (let i = 0; i < 3; i++) {
      const id = newUserId();
      tabs.push(await connect(server.url, tokenFor(id)));
    }
    await waitFor(() => serverSockets().length === 3, 'three server sockets');
    const [first, ...others] = serverSockets();
    for (const event of [...CLIENT_EVENT_NAMES, 'disconnect'] as const) {
      const listeners = first!.listeners(event as never);
      expect(listeners.length, event).toBeGreaterThan(0);
      for (const other of others) expect(other.listeners(event as never), event).toEqual(listeners);
      for (const fn of listeners) {
        for (const other of others) expect(other.listeners(event as never).includes(fn), event).toBe(true);
      }
    }
    for (const t of tabs) t.close();
  });
});
