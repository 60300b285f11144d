/**
 * The client's block list (client/src/inbox/blocks.ts) against the real server: the list comes
 * on connect, a block or unblock shows once the server has it, a list fetched before a change
 * is never applied over it, and what fails says why (NETWORK, or the server's code).
 */
import { firstValueFrom, Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, newUserId, startTestServer, type TestServer, tokenFor } from '../../sync-server/test/support/test-server';
import { BlockError, Blocks } from '../src/inbox/blocks';
import { closeAllDevices, makeUser, openDevice, until } from './support/devices';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

function blocksOf(userId: string, extra: Partial<ConstructorParameters<typeof Blocks>[0]> = {}): Blocks {
  return new Blocks({ serverUrl: `${server.url}/`, getToken: () => tokenFor(userId), ...extra });
}

describe('Blocks', () => {
  it('is unknown until fetched; connecting fetches it; block and unblock show once the server has them', async () => {
    const [me, other, third] = [newUserId(), newUserId(), newUserId()];
    expect((await api(server, 'POST', `/api/blocks/${third}`, tokenFor(me))).status).toBe(200);
    const connected$ = new Subject<void>();
    const blocks = blocksOf(me, { connected$ });
    try {
      expect(blocks.current()).toBeNull();
      expect(blocks.isBlocked(third)).toBeNull();
      connected$.next();
      await expect.poll(() => blocks.current()).toEqual(new Set([third]));

      await blocks.block(other);
      expect(blocks.isBlocked(other)).toBe(true);
      expect(await firstValueFrom(blocks.blocked$)).toEqual(new Set([third, other]));
      const listed = (await api(server, 'GET', '/api/blocks', tokenFor(me))).body.data.map((b: { userId: string }) => b.userId);
      expect(listed.sort()).toEqual([third, other].sort());

      await blocks.unblock(third);
      expect(blocks.current()).toEqual(new Set([other]));
      expect((await blocks.refresh()).map((b) => b.userId)).toEqual([other]);
    } finally {
      blocks.close();
    }
  });

  it('a block before the first list fetches the whole list rather than show only that one user', async () => {
    const [me, earlier, now] = [newUserId(), newUserId(), newUserId()];
    expect((await api(server, 'POST', `/api/blocks/${earlier}`, tokenFor(me))).status).toBe(200);
    const blocks = blocksOf(me);
    await blocks.block(now);
    expect(blocks.current()).toEqual(new Set([earlier, now]));
    blocks.close();
  });

  it('a list fetched before a block answered is not applied over it', async () => {
    const [me, other] = [newUserId(), newUserId()];
    let release: () => void = () => undefined;
    let hold = false;
    let held = false;
    const blocks = blocksOf(me, {
      fetch: async (input, init) => {
        if ((init?.method ?? 'GET') === 'GET' && hold) {
          hold = false;
          // Fetched now (the block is not on the server yet), answered after the block.
          const stale = await fetch(input, init);
          held = true;
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          return stale;
        }
        return fetch(input, init);
      },
    });
    await blocks.refresh();
    hold = true;
    const first = blocks.refresh();
    await expect.poll(() => held).toBe(true);
    await blocks.block(other);
    release();
    await first;
    expect(blocks.current()).toEqual(new Set([other]));
    blocks.close();
  });

  it('says why a change failed: no connection or token (NETWORK), or the server’s code; the known list stays', async () => {
    const me = newUserId();
    const blocks = blocksOf(me);
    await blocks.refresh();
    const refused = await blocks.block(me).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BlockError);
    expect((refused as BlockError).code).toBe('VALIDATION_FAILED');

    const offline = blocksOf(me, {
      fetch: () => Promise.reject(new TypeError('Failed to fetch')),
    });
    await expect(offline.block(newUserId())).rejects.toMatchObject({ code: 'NETWORK' });
    await expect(offline.refresh()).rejects.toMatchObject({ code: 'NETWORK' });
    expect(offline.current()).toBeNull();

    const signedOut = new Blocks({ serverUrl: server.url, getToken: () => null });
    await expect(signedOut.unblock(newUserId())).rejects.toMatchObject({ code: 'NETWORK' });

    const badToken = new Blocks({ serverUrl: server.url, getToken: () => 'not-a-token' });
    await expect(badToken.block(newUserId())).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(blocks.current()).toEqual(new Set());
    for (const b of [blocks, offline, signedOut, badToken]) b.close();
  });
});

describe('a block made on one device', () => {
  it('reaches the user’s other device at once, without a reconnect (blocks:changed)', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const laptop = await openDevice(server.url, alice);
    const phone = await openDevice(server.url, alice);
    try {
      const [onLaptop, onPhone] = [laptop.blocks, phone.blocks];
      if (!onLaptop || !onPhone) throw new Error('devices without blocks');
      await until(onPhone.blocked$, (b) => b !== null && b.size === 0, 'the phone has the (empty) list');
      await onLaptop.block(bob.id);
      await until(onPhone.blocked$, (b) => b?.has(bob.id) === true, 'the block on the phone');
      await onLaptop.unblock(bob.id);
      await until(onPhone.blocked$, (b) => b !== null && !b.has(bob.id), 'the unblock on the phone');
    } finally {
      await closeAllDevices();
    }
  });
});
