import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import { afterAll, expect, test } from 'vitest';
import { draftConversation, draftMessage } from './support/docs';
import { type ServerProcess, startServerProcess } from './support/server-process';
import { type ClientSocket, connect, newUserId, pull, push, tokenFor } from './support/test-server';

/**
 * An acknowledged push survives kill -9 of the server process right after the acknowledgement.
 * A real server process on a real SQLite file with the default `synchronous` (NORMAL, WAL):
 * each round streams pushes at it, SIGKILLs it from inside the callback of the K-th
 * acknowledgement (while later pushes are still being committed), restarts it on the same file
 * and checks that every acknowledged message is there, whole: the conversation update of the
 * same commit (unread count, last message) survived with it. Fails if the server ever answers
 * before its commit is in the file, or if a commit can be half there.
 */

const ROUNDS = 8;
const dir = mkdtempSync(join(tmpdir(), 'fw-durability-'));
const sqlitePath = join(dir, 'store.sqlite');
let server: ServerProcess | null = null;

afterAll(async () => {
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function pullAll<T>(socket: ClientSocket, collection: 'messages' | 'conversations'): Promise<T[]> {
  const docs: T[] = [];
  let checkpoint: { seq: number } | null = null;
  for (;;) {
    const ack = await pull(socket, { collection, checkpoint, batchSize: 1000 });
    if (ack.error) throw new Error(`${ack.error.code}: ${ack.error.message}`);
    docs.push(...ack.documents);
    checkpoint = ack.checkpoint;
    if (ack.documents.length < 1000) return docs;
  }
}

test('every push acknowledged right before a kill -9 is stored, whole, after the restart', { timeout: 180_000 }, async () => {
  const alice = newUserId();
  const bob = newUserId();
  const conv = draftConversation(alice, bob);
  const sent = new Set<string>();
  const acked: string[] = [];
  let inFlightAtKill = 0;

  for (let round = 0; round <= ROUNDS; round++) {
    // SQLITE_SYNCHRONOUS is left unset: the default (NORMAL) is what is under test.
    server = await startServerProcess({ SQLITE_PATH: sqlitePath });
    const socket = await connect(server.url, tokenFor(alice));
    try {
      // Everything acknowledged before the previous kills is there.
      const stored = await pullAll<MessageDoc>(socket, 'messages');
      const storedIds = new Set(stored.map((m) => m.id));
      const missing = acked.filter((id) => !storedIds.has(id));
      expect(missing, `round ${round}: acknowledged but missing after kill -9`).toEqual([]);
      expect(
        [...storedIds].filter((id) => !sent.has(id)),
        'stored but never sent',
      ).toEqual([]);
      // The conversation changes of those commits survived with them.
      const [conversation] = await pullAll<ConversationDoc>(socket, 'conversations');
      if (round > 0) {
        expect(conversation!.unreadCount[bob] ?? 0, `round ${round}: unread count matches the stored messages`).toBe(stored.length);
        expect(storedIds.has(conversation!.lastMessage!), `round ${round}: last message is a stored one`).toBe(true);
      }
      if (round === ROUNDS) break;

      if (round === 0) {
        expect(await push(socket, { collection: 'conversations', rows: [{ newDocumentState: conv }] })).toEqual({
          conflicts: [],
          rejected: [],
        });
      }
      // Stream pushes; SIGKILL from inside the K-th acknowledgement's callback.
      const child = server.child;
      const killAfter = 5 + round * 3;
      await new Promise<void>((resolve) => {
        let acks = 0;
        let killed = false;
        const outstanding = new Set<string>();
        const sendOne = () => {
          if (killed) return;
          const m = draftMessage(conv.id, alice, bob, `round ${round} message ${sent.size}`);
          sent.add(m.id);
          outstanding.add(m.id);
          socket.timeout(5000).emit('sync:push', { collection: 'messages', rows: [{ newDocumentState: m }] }, (err: unknown, ack: any) => {
            outstanding.delete(m.id);
            if (killed) return;
            if (!err && !ack?.error && ack.rejected.length === 0 && ack.conflicts.length === 0) {
              acked.push(m.id);
              if (++acks === killAfter) {
                killed = true;
                child.kill('SIGKILL');
                inFlightAtKill += outstanding.size;
                return resolve();
              }
            }
            sendOne();
          });
        };
        // Four pushes in flight at all times, so commits are under way when the kill lands.
        for (let i = 0; i < 4; i++) sendOne();
        socket.once('disconnect', () => resolve());
      });
      await server.kill();
      server = null;
    } finally {
      socket.close();
    }
  }
  expect(acked.length).toBeGreaterThanOrEqual(ROUNDS * 5);
  // The kills did land with pushes still in flight (otherwise this proves little).
  expect(inFlightAtKill).toBeGreaterThan(0);
});
