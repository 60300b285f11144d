/**
 * What `SQLITE_SYNCHRONOUS=FULL` costs against the default NORMAL (WAL mode): the commit rate of
 * the real store (SqliteStore.commit: one message and its conversation update, feed rows for
 * both participants, in one BEGIN IMMEDIATE transaction), one commit after another, on a file in
 * the OS temp directory.
 *
 *   npx tsx chaos/sqlite-synchronous-cost.ts [commits=2000]
 *
 * NORMAL: a commit is durable across a process crash (kill -9) once it returns; the WAL is
 * fsynced at checkpoints. FULL: every commit fsyncs the WAL, so it also survives power loss.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConversationDoc, newConversationDoc, type MessageDoc, newMessageDoc, newMessageId } from '@fetchwork/shared-schema';
import { SqliteStore } from '../sync-server/src/store/sqlite-store';

const commits = Number(process.argv[2] ?? 2000);
const alice = '64b7f0c2a1b2c3d4e5f60718';
const bob = '64b7f0c2a1b2c3d4e5f60719';

async function rate(synchronous: 'NORMAL' | 'FULL'): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), `fw-sync-cost-${synchronous}-`));
  const store = new SqliteStore({ path: join(dir, 'store.sqlite'), synchronous });
  try {
    const now = new Date().toISOString();
    const participants = [alice, bob].sort();
    let conv: ConversationDoc = newConversationDoc({ participants, job: null, at: now });
    const created = await store.commit([{ collection: 'conversations', doc: conv, expectedSeq: null, audience: participants }]);
    conv = created.docs[0]!.doc as ConversationDoc;
    const started = performance.now();
    for (let i = 0; i < commits; i++) {
      const at = new Date().toISOString();
      const message: MessageDoc = {
        ...newMessageDoc({ id: newMessageId(), conversation: conv.id, sender: alice, recipient: bob, content: `message ${i}`, at }),
        sentAt: at,
      };
      const next = { ...conv, lastMessage: message.id, lastActivity: at, updatedAt: at, unreadCount: { [bob]: i + 1 } };
      const result = await store.commit([
        { collection: 'messages', doc: message, expectedSeq: null, audience: participants },
        { collection: 'conversations', doc: next, expectedSeq: conv.seq, audience: participants },
      ]);
      conv = result.docs[1]!.doc as ConversationDoc;
    }
    return commits / ((performance.now() - started) / 1000);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Alternate and repeat, so a warm-up or a noisy neighbour does not favour one side.
const results: Record<'NORMAL' | 'FULL', number[]> = { NORMAL: [], FULL: [] };
for (let round = 0; round < 3; round++) {
  for (const mode of ['NORMAL', 'FULL'] as const) results[mode].push(await rate(mode));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const normal = median(results.NORMAL);
const full = median(results.FULL);
console.log(`commits per run: ${commits}; runs: ${results.NORMAL.length} per mode (median shown)`);
console.log(`NORMAL: ${normal.toFixed(0)} commits/s  (${results.NORMAL.map((r) => r.toFixed(0)).join(', ')})`);
console.log(`FULL:   ${full.toFixed(0)} commits/s  (${results.FULL.map((r) => r.toFixed(0)).join(', ')})`);
console.log(`NORMAL / FULL = ${(normal / full).toFixed(1)}×`);
