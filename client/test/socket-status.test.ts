import { createServer } from 'node:net';
import { afterEach, expect, test, vi } from 'vitest';
import { connectSyncSocket, type SocketStatus } from '../src/sync/socket';
import { until } from './support/devices';

/** A loopback port nothing listens on: every attempt is refused at once. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function unreachable() {
  const connection = connectSyncSocket({
    url: `http://127.0.0.1:${await closedPort()}`,
    getToken: () => 'token',
    transports: ['websocket'],
    reconnectionDelayMs: 20,
    reconnectionDelayMaxMs: 40,
  });
  const seen: SocketStatus[] = [];
  connection.status$.subscribe((s) => seen.push(s));
  return { connection, seen };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

test('while the browser is offline, reconnect attempts leave the status offline', async () => {
  vi.stubGlobal('navigator', { onLine: false });
  const { connection, seen } = await unreachable();
  try {
    await until(connection.status$, (s) => s.kind === 'offline' && s.attempt >= 4, 'several failed attempts');
    expect(seen[0]).toEqual({ kind: 'offline', attempt: 0 });
    expect(seen.filter((s) => s.kind === 'connecting')).toEqual([]);

    // Online again (the server is still unreachable): attempts are shown as such.
    vi.stubGlobal('navigator', { onLine: true });
    await until(connection.status$, (s) => s.kind === 'connecting' && s.attempt > 0, 'an attempt shown as connecting');
  } finally {
    connection.close();
  }
});

test('without navigator.onLine (Node) every attempt is reported as connecting', async () => {
  expect(typeof navigator === 'undefined' || navigator.onLine === undefined).toBe(true);
  const { connection, seen } = await unreachable();
  try {
    await until(connection.status$, (s) => s.kind === 'offline' && s.attempt >= 2, 'failed attempts');
    expect(seen[0]).toEqual({ kind: 'connecting', attempt: 0 });
    expect(seen.some((s) => s.kind === 'connecting' && s.attempt > 0)).toBe(true);
  } finally {
    connection.close();
  }
});
