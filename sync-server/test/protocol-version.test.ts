import {
  minProtocolVersion,
  PROTOCOL_VERSION,
  protocolVersionVerdict,
  UNSUPPORTED_VERSION_CONNECT_ERROR,
  UPGRADE_REQUIRED_CONNECT_ERROR,
} from '@fetchwork/shared-schema';
import { io as ioClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors';
import { checkProtocolVersion } from '../src/realtime/protocol-version';
import { type ClientSocket, newUserId, startTestServer, type TestServer, tokenFor } from './support/test-server';

/** docs/protocol.md, "Versions": the handshake's `auth.protocolVersion`. */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

/** A handshake with this `auth`; resolves with the socket or the connect_error (message and data). */
function handshake(auth: Record<string, unknown>): Promise<{ socket: ClientSocket } | { error: { message: string; data: any } }> {
  const socket: ClientSocket = ioClient(server.url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket }));
    socket.once('connect_error', (err) => {
      socket.close();
      resolve({ error: { message: err.message, data: (err as Error & { data?: unknown }).data } });
    });
  });
}

async function expectAccepted(auth: Record<string, unknown>) {
  const result = await handshake(auth);
  expect('error' in result ? result.error : null, JSON.stringify(auth)).toBeNull();
  if ('socket' in result) result.socket.close();
}

const token = () => tokenFor(newUserId());

describe('the server serves the current and the previous protocol version', () => {
  it('accepts the current version, the oldest served one, and a handshake without a version (a client from before versioning)', async () => {
    await expectAccepted({ token: token(), protocolVersion: PROTOCOL_VERSION });
    await expectAccepted({ token: token(), protocolVersion: minProtocolVersion() });
    if (PROTOCOL_VERSION > 1) await expectAccepted({ token: token(), protocolVersion: PROTOCOL_VERSION - 1 });
    await expectAccepted({ token: token() });
  });

  it('refuses an older version with upgrade_required and the oldest version it serves, before looking at the token', async () => {
    for (const auth of [
      { token: token(), protocolVersion: minProtocolVersion() - 1 },
      { token: token(), protocolVersion: -3 },
      { token: 'not a token', protocolVersion: minProtocolVersion() - 1 },
    ]) {
      const result = await handshake(auth);
      expect(result).toEqual({
        error: {
          message: UPGRADE_REQUIRED_CONNECT_ERROR,
          data: { code: 'UPGRADE_REQUIRED', message: expect.stringContaining('load the new version'), minVersion: minProtocolVersion() },
        },
      });
    }
  });

  it('refuses a version newer than its own, or not a version, as unsupported (retry once the server is updated)', async () => {
    for (const protocolVersion of [PROTOCOL_VERSION + 1, '1', 1.5, { v: 1 }, true]) {
      const result = await handshake({ token: token(), protocolVersion });
      expect(result, JSON.stringify(protocolVersion)).toEqual({
        error: {
          message: UNSUPPORTED_VERSION_CONNECT_ERROR,
          data: { code: 'VALIDATION_FAILED', message: expect.any(String), maxVersion: PROTOCOL_VERSION },
        },
      });
    }
  });

  it('a served version with a bad token is still unauthorized', async () => {
    const result = await handshake({ token: 'nope', protocolVersion: PROTOCOL_VERSION });
    expect(result).toEqual({ error: { message: 'unauthorized', data: undefined } });
  });

  it('UPGRADE_REQUIRED is HTTP 426', () => {
    expect(new AppError('UPGRADE_REQUIRED', 'x').status).toBe(426);
  });
});

describe('the policy, for any current version', () => {
  it('serves current and current - 1; an unversioned client is version 1 until a bump past 2 refuses it', () => {
    const served = (current: number) => [-1, 0, 1, 2, 3, 4, 5, 6].filter((v) => protocolVersionVerdict(v, current).ok);
    expect(served(1)).toEqual([1]);
    expect(served(2)).toEqual([1, 2]);
    expect(served(3)).toEqual([2, 3]);
    expect(served(5)).toEqual([4, 5]);
    expect(protocolVersionVerdict(undefined, 1)).toEqual({ ok: true, version: 1 });
    expect(protocolVersionVerdict(null, 2)).toEqual({ ok: true, version: 1 });
    expect(protocolVersionVerdict(undefined, 3)).toEqual({ ok: false, reason: 'upgrade-required', version: 1, minVersion: 2 });
    expect(protocolVersionVerdict(4, 3)).toEqual({ ok: false, reason: 'unsupported', version: 4, maxVersion: 3 });
  });

  it('checkProtocolVersion builds the connect_error Socket.io sends', () => {
    expect(checkProtocolVersion({ token: 't' }, 3)).toMatchObject({
      ok: false,
      error: { message: UPGRADE_REQUIRED_CONNECT_ERROR, data: { code: 'UPGRADE_REQUIRED', minVersion: 2 } },
    });
    expect(checkProtocolVersion({ token: 't', protocolVersion: 2 }, 3)).toEqual({ ok: true, version: 2 });
    expect(checkProtocolVersion(undefined, 1)).toEqual({ ok: true, version: 1 });
  });
});
