import { minProtocolVersion, PROTOCOL_VERSION } from '@fetchwork/shared-schema';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { firstValueFrom, of } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { connectionState$ } from '../src/inbox/connection-state';
import {
  checkForNewVersion,
  newVersionWaiting,
  provideServiceWorkerUpdater,
  reloadToNewVersion,
  resetAppUpdateForTests,
} from '../src/pwa/app-update';
import { connectSyncSocket, type SocketStatus } from '../src/sync/socket';
import { ConnectionBanner } from '../src/ui/ConnectionBanner';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';
import { serverMessages } from './support/replica';
import { type RestartableServer, startRestartableServer } from './support/server';

/**
 * An installed app older than the server serves (docs/protocol.md, "Versions"): the server refuses
 * its handshake with UPGRADE_REQUIRED; the app stops trying, says a new version must be loaded,
 * and keeps what is unsent in its replica, which the new version sends after the reload.
 */

/** A version the server no longer serves: an app from before its oldest served version. */
const OLD_VERSION = minProtocolVersion() - 1;

let server: RestartableServer;
/** Low-level connections the server saw (every handshake attempt opens one). */
let connections = 0;
beforeAll(async () => {
  server = await startRestartableServer();
  server.current.io.engine.on('connection', () => {
    connections += 1;
  });
});
afterEach(async () => {
  await closeAllDevices();
  resetAppUpdateForTests();
});
afterAll(() => server.dispose());

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('an old app ends in "upgrade required", does not retry, and its unsent message survives the reload into the new version', async () => {
  const alice = makeUser('Alice');
  const bob = makeUser('Bob');
  const dbName = `upgrade-${alice.id}`;
  // Alice used the app while it was current: a conversation with Bob, one message delivered.
  let a = await openDevice(server.url, alice, { databaseName: dbName });
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id);
  await a.sendMessage(conv, 'before the server moved on');
  await until(b.messages$(conv, 10), (ms) => ms.length === 1, 'B has the first message');
  await until(a.connection$, (s) => s.status === 'online', 'A online');
  await a.close();

  // The server now serves only newer versions than Alice's installed app.
  const before = connections;
  a = await openDevice(server.url, alice, {
    databaseName: dbName,
    protocolVersion: OLD_VERSION,
    reconnectionDelayMs: 50,
    reconnectionDelayMaxMs: 100,
  });
  const refused = await until(a.connection$, (s) => s.status === 'error', 'the upgrade-required state');
  expect(refused).toEqual({ status: 'error', reason: 'upgrade-required', pendingWrites: 0 });

  // Written while refused: kept locally as unsent.
  const unsent = await a.sendMessage(conv, 'written in the old app');
  await until(a.connection$, (s) => s.pendingWrites === 1, 'one unsent message');
  expect(await firstValueFrom(a.connection$)).toEqual({ status: 'error', reason: 'upgrade-required', pendingWrites: 1 });

  // No retry loop: many reconnection delays later, and after an explicit reconnect, still one attempt.
  a.reconnect();
  await pause(800);
  expect(connections - before).toBe(1);
  expect(a.socket.connected).toBe(false);
  expect(await firstValueFrom(a.connection$)).toMatchObject({ status: 'error', reason: 'upgrade-required' });
  expect((await serverMessages(server, alice.id)).map((m) => m.content)).toEqual(['before the server moved on']);

  // The unsent message is in the replica, as written.
  const local = await a.database.messages.findOne(unsent.id).exec();
  expect(local?.toJSON()).toMatchObject({ id: unsent.id, content: 'written in the old app', seq: 0, sentAt: null });
  await a.close();

  // The reload loads the new version, which opens the same replica and sends it.
  a = await openDevice(server.url, alice, { databaseName: dbName });
  await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.id === unsent.id && m.content === 'written in the old app'), 'B gets it');
  await until(a.connection$, (s) => s.status === 'online' && s.pendingWrites === 0, 'nothing left unsent');
  expect((await serverMessages(server, alice.id)).map((m) => m.content).sort()).toEqual([
    'before the server moved on',
    'written in the old app',
  ]);
});

test('the socket: UPGRADE_REQUIRED carries the oldest served version, the status is final, the current version connects', async () => {
  const alice = makeUser('Alice');
  const old = connectSyncSocket({
    url: server.url,
    getToken: () => alice.token,
    transports: ['websocket'],
    protocolVersion: OLD_VERSION,
    reconnectionDelayMs: 20,
  });
  const seen: SocketStatus[] = [];
  old.status$.subscribe((s) => seen.push(s));
  try {
    await until(old.status$, (s) => s.kind === 'upgrade-required', 'upgrade required');
    expect(old.status()).toEqual({ kind: 'upgrade-required', minVersion: minProtocolVersion() });
    old.reconnect();
    await pause(200);
    expect(old.status().kind).toBe('upgrade-required');
    expect(seen.map((s) => s.kind)).toEqual(['connecting', 'upgrade-required']);
  } finally {
    old.close();
  }
  const current = connectSyncSocket({ url: server.url, getToken: () => alice.token, transports: ['websocket'] });
  try {
    await until(current.status$, (s) => s.kind === 'connected', 'the current version connects');
    expect(PROTOCOL_VERSION).toBeGreaterThanOrEqual(minProtocolVersion());
  } finally {
    current.close();
  }
});

test('an app newer than its server (deployed first) is refused as unsupported and keeps trying', async () => {
  const alice = makeUser('Alice');
  const before = connections;
  const newer = connectSyncSocket({
    url: server.url,
    getToken: () => alice.token,
    transports: ['websocket'],
    protocolVersion: PROTOCOL_VERSION + 1,
    reconnectionDelayMs: 20,
    reconnectionDelayMaxMs: 50,
  });
  try {
    await until(newer.status$, (s) => s.kind === 'offline' && s.attempt >= 3, 'three refused attempts');
    expect(connections - before).toBeGreaterThanOrEqual(3);
  } finally {
    newer.close();
  }
});

describe('what the app shows', () => {
  test('the connection state and the banner: a new version, reload, unsent messages kept', async () => {
    const state = await firstValueFrom(connectionState$(of<SocketStatus>({ kind: 'upgrade-required', minVersion: 2 }), of(2), of(null)));
    expect(state).toEqual({ status: 'error', reason: 'upgrade-required', pendingWrites: 2 });
    const html = renderToStaticMarkup(createElement(ConnectionBanner, { state, onSignInAgain: () => undefined }));
    expect(html).toContain('A new version is available — reload');
    expect(html).toContain('2 unsent messages will be sent after the reload.');
    expect(html).toMatch(/<button[^>]*>Reload<\/button>/);
    expect(html).not.toContain('Sign in again');
  });
});

describe('reloading into the new version (the service worker update flow)', () => {
  function fakeRegistration(onUpdate: () => void | Promise<void>) {
    return { update: vi.fn(async () => onUpdate()) } as unknown as ServiceWorkerRegistration & { update: ReturnType<typeof vi.fn> };
  }

  test('without a service worker: a plain reload', async () => {
    const reload = vi.fn();
    expect(await reloadToNewVersion({ reload })).toBe('reloaded');
    expect(reload).toHaveBeenCalledTimes(1);
  });

  test('fetches the new worker, waits for it, activates it (which reloads the page)', async () => {
    vi.useFakeTimers();
    try {
      const reload = vi.fn();
      const activateWaiting = vi.fn(async () => undefined);
      const registration = fakeRegistration(() => {
        setTimeout(newVersionWaiting, 100); // installed a little later
      });
      provideServiceWorkerUpdater({ registration, activateWaiting });
      const result = reloadToNewVersion({ reload });
      await vi.advanceTimersByTimeAsync(100);
      expect(await result).toBe('activated');
      expect(registration.update).toHaveBeenCalledTimes(1);
      expect(activateWaiting).toHaveBeenCalledTimes(1);
      expect(reload).not.toHaveBeenCalled();
      // Should the activated worker not reload the page, it is reloaded anyway.
      await vi.advanceTimersByTimeAsync(5_000);
      expect(reload).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  test('a worker already waiting is activated at once; a check that finds none, or fails, reloads', async () => {
    const activateWaiting = vi.fn(async () => undefined);
    const registration = fakeRegistration(() => undefined);
    provideServiceWorkerUpdater({ registration, activateWaiting });
    const reload = vi.fn();
    expect(await reloadToNewVersion({ reload, waitMs: 20 })).toBe('reloaded');
    expect(activateWaiting).not.toHaveBeenCalled();

    const failing = { update: vi.fn(async () => Promise.reject(new Error('offline'))) } as unknown as ServiceWorkerRegistration;
    provideServiceWorkerUpdater({ registration: failing, activateWaiting });
    expect(await reloadToNewVersion({ reload, waitMs: 20 })).toBe('reloaded');
    expect(reload).toHaveBeenCalledTimes(2);

    provideServiceWorkerUpdater({ registration, activateWaiting });
    newVersionWaiting();
    checkForNewVersion();
    expect(await reloadToNewVersion({ reload })).toBe('activated');
    expect(activateWaiting).toHaveBeenCalledTimes(1);
    expect(registration.update).toHaveBeenCalledTimes(2); // the first check and checkForNewVersion, none before activating
  });
});
