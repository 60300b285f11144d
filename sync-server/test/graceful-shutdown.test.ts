import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftConversation, draftMessage } from './support/docs';
import { type ServerProcess, startServerProcess } from './support/server-process';
import { connect, newUserId, push, tokenFor } from './support/test-server';

let dir: string;
let server: ServerProcess;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fw-term-'));
  server = await startServerProcess({ SQLITE_PATH: join(dir, 'store.sqlite') });
}, 60_000);
afterAll(async () => {
  await server.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('SIGTERM', () => {
  it('acknowledges the pushes already in flight, closes sockets so clients reconnect, and exits 0', async () => {
    const a = newUserId();
    const b = newUserId();
    const socket = await connect(server.url, tokenFor(a));
    const conv = draftConversation(a, b);
    await push(socket, { collection: 'conversations', rows: [{ newDocumentState: conv }] });
    const reason = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    const drafts = Array.from({ length: 20 }, (_, i) => draftMessage(conv.id, a, b, `m${i}`));
    const inFlight = drafts.map((m) => push(socket, { collection: 'messages', rows: [{ newDocumentState: m }] }));
    const exit = server.stop();
    const acks = await Promise.allSettled(inFlight);
    // A transport close (not a server-side disconnect) is what makes socket.io-client reconnect.
    expect(await reason).toBe('transport close');
    expect(await exit).toBe(0);
    // Each push was stored and acknowledged, refused with a retryable "restarting" error, or
    // (sent after the transport closed) left unanswered for the client to retry. Every one that
    // was acknowledged as stored is in the file.
    const stored = drafts.filter((_, i) => {
      const ack = acks[i]!;
      if (ack.status === 'rejected') return false;
      if (ack.value.error) {
        expect(ack.value.error.code).toBe('INTERNAL');
        return false;
      }
      expect(ack.value).toEqual({ conflicts: [], rejected: [] });
      return true;
    });
    expect(stored.length).toBeGreaterThan(0);
    const db = new Database(join(dir, 'store.sqlite'), { readonly: true });
    const ids = new Set((db.prepare('SELECT id FROM messages').all() as { id: string }[]).map((r) => r.id));
    db.close();
    for (const m of stored) expect(ids.has(m.id), m.content).toBe(true);
  });
});
