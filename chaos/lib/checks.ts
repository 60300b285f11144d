import type { ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import { plainDoc, stableJson } from './canonical';
import type { FeedRow } from './store-reader';
import type { DeviceDump } from './types';

export interface ServerState {
  head: number;
  messages: MessageDoc[];
  conversations: ConversationDoc[];
  feeds: Map<string, { messages: FeedRow[]; conversations: FeedRow[] }>;
}

/** Violations by kind; each list holds short human-readable findings (capped when printed). */
export interface Findings {
  /** A message acknowledged locally that the server does not have. */
  lostOnServer: string[];
  /** A participant's device that does not hold a message the server has. */
  lostOnDevice: string[];
  /** A read or delivered receipt that did not survive. */
  lostReceipts: string[];
  /** An edit that is not the final content although nothing superseded it. */
  lostEdits: string[];
  /** A server message that no device sent (a second copy of a send), or a device holding a message twice. */
  duplicated: string[];
  /** A replica's document differing from the server's, or a document a replica should not hold. */
  diverged: string[];
  /** Server-derived state that does not match its messages (unread counts, last message). */
  derived: string[];
  /** A checkpoint beyond the data the replica holds. */
  checkpoint: string[];
  /** Writes still pending, or refused for good, at the end. */
  unsettled: string[];
}

export const emptyFindings = (): Findings => ({
  lostOnServer: [],
  lostOnDevice: [],
  lostReceipts: [],
  lostEdits: [],
  duplicated: [],
  diverged: [],
  derived: [],
  checkpoint: [],
  unsettled: [],
});

const same = (a: object, b: object) =>
  stableJson(plainDoc(a as Record<string, unknown>)) === stableJson(plainDoc(b as Record<string, unknown>));

/**
 * The end-of-run verdict, from the server's SQLite file and every device's replica:
 * every message sent exists exactly once on the server and on every device of both
 * participants, every replica equals the server on every field, receipts and edits converged,
 * no checkpoint is beyond what its replica holds, nothing is left pending or refused.
 */
export interface Suspect {
  label: string;
  collection: 'messages' | 'conversations';
  id: string;
}

export function checkRun(server: ServerState, dumps: DeviceDump[], suspects: Suspect[] = []): Findings {
  const f = emptyFindings();
  const messages = new Map(server.messages.map((m) => [m.id, m]));
  const conversations = new Map(server.conversations.map((c) => [c.id, c]));
  const devicesOf = new Map<string, DeviceDump[]>();
  for (const d of dumps) devicesOf.set(d.userId, [...(devicesOf.get(d.userId) ?? []), d]);

  // --- what was sent (acknowledged locally) against the server
  const sent = new Map<string, { content: string; label: string }>();
  for (const d of dumps) {
    for (const s of d.record.sent) {
      if (sent.has(s.id)) f.duplicated.push(`${s.id} recorded as sent twice`);
      sent.set(s.id, { content: s.content, label: d.label });
      if (!messages.has(s.id)) f.lostOnServer.push(`${s.id} ("${s.content}" from ${d.label}) is not on the server`);
    }
  }
  const byOriginal = new Map<string, string[]>();
  for (const m of server.messages) {
    const s = sent.get(m.id);
    if (!s) {
      f.duplicated.push(`server holds ${m.id} ("${m.content}") that no device sent`);
      continue;
    }
    byOriginal.set(s.content, [...(byOriginal.get(s.content) ?? []), m.id]);
  }
  for (const [content, ids] of byOriginal) if (ids.length > 1) f.duplicated.push(`"${content}" stored ${ids.length} times`);

  // --- every replica against the user's server feed
  for (const d of dumps) {
    const feed = server.feeds.get(d.userId) ?? { messages: [], conversations: [] };
    const local = new Map<string, Record<string, unknown>>();
    for (const m of d.messages) {
      const id = m.id as string;
      if (local.has(id)) f.duplicated.push(`${d.label} holds ${id} twice`);
      local.set(id, m);
    }
    const contents = new Map<string, number>();
    for (const m of d.messages) {
      const c = m.content as string;
      if (c) contents.set(c, (contents.get(c) ?? 0) + 1);
    }
    for (const [c, n] of contents) if (n > 1 && !c.startsWith('edit ')) f.duplicated.push(`${d.label} holds "${c}" ${n} times`);
    const expected = new Set(feed.messages.map((r) => r.docId));
    for (const row of feed.messages) {
      const stored = messages.get(row.docId)!;
      const mine = local.get(row.docId);
      if (!mine || !same(mine, stored)) suspects.push({ label: d.label, collection: 'messages', id: row.docId });
      if (!mine) f.lostOnDevice.push(`${d.label} lacks ${row.docId} ("${stored.content}")`);
      else if (!same(mine, stored))
        f.diverged.push(`${d.label} message ${row.docId}: replica ${stableJson(mine)} != server ${stableJson(plainDoc(stored as never))}`);
    }
    for (const id of local.keys())
      if (!expected.has(id)) f.diverged.push(`${d.label} holds message ${id}, which is not in its user's server feed`);

    const localConvs = new Map(d.conversations.map((c) => [c.id as string, c]));
    const expectedConvs = new Set(feed.conversations.map((r) => r.docId));
    for (const row of feed.conversations) {
      const stored = conversations.get(row.docId)!;
      const mine = localConvs.get(row.docId);
      if (!mine || !same(mine, stored)) suspects.push({ label: d.label, collection: 'conversations', id: row.docId });
      if (!mine) f.lostOnDevice.push(`${d.label} lacks conversation ${row.docId}`);
      else if (!same(mine, stored))
        f.diverged.push(
          `${d.label} conversation ${row.docId}: replica ${stableJson(mine)} != server ${stableJson(plainDoc(stored as never))}`,
        );
    }
    for (const id of localConvs.keys())
      if (!expectedConvs.has(id)) f.diverged.push(`${d.label} holds conversation ${id}, not in its user's server feed`);

    // --- checkpoints: never beyond what the replica holds
    for (const collection of ['messages', 'conversations'] as const) {
      const cp = d.checkpoints[collection];
      const rows = feed[collection];
      const held = collection === 'messages' ? local : localConvs;
      const maxHeld = Math.max(0, ...[...held.values()].map((x) => (x.seq as number) ?? 0));
      if (cp === null) {
        if (rows.length > 0) f.checkpoint.push(`${d.label} ${collection}: no checkpoint although its feed has ${rows.length} documents`);
        continue;
      }
      if (cp > server.head) f.checkpoint.push(`${d.label} ${collection}: checkpoint ${cp} beyond the server head ${server.head}`);
      if (cp > maxHeld) f.checkpoint.push(`${d.label} ${collection}: checkpoint ${cp} beyond the highest seq it holds (${maxHeld})`);
      const walkBefore = d.checkpoints.walkBefore?.[collection] ?? null;
      for (const r of rows) {
        if (r.seq > cp || (walkBefore !== null && r.seq < walkBefore)) continue;
        const x = held.get(r.docId);
        if (!x || (x.seq as number) < r.seq)
          f.checkpoint.push(
            `${d.label} ${collection}: checkpoint ${cp} passed ${r.docId}@${r.seq}, replica has ${x ? `seq ${x.seq}` : 'nothing'}`,
          );
      }
    }

    for (const p of d.pending) f.unsettled.push(`${d.label}: ${p} still pending`);
    for (const x of d.failures) f.unsettled.push(`${d.label}: ${x.docId} refused (${x.code}: ${x.message})`);
  }

  // --- receipts: read never lost, every message reached its recipient
  for (const d of dumps) {
    for (const id of d.record.reads) {
      const m = messages.get(id);
      if (m && !m.isRead) f.lostReceipts.push(`${id} was marked read on ${d.label}, the server says unread`);
    }
  }
  for (const m of server.messages) {
    if (m.isRead && (m.readAt === null || m.deliveredAt === null)) f.lostReceipts.push(`${m.id} read without readAt/deliveredAt`);
    if (m.deliveredAt === null && (devicesOf.get(m.recipient)?.length ?? 0) > 0) f.lostReceipts.push(`${m.id} never marked delivered`);
  }

  // --- edits and deletes: the final content is one a device wrote last, nothing invented
  const edits = new Map<string, Map<string, string[]>>();
  const deletes = new Set<string>();
  for (const d of dumps) {
    for (const [id, list] of Object.entries(d.record.edits)) {
      const byDevice = edits.get(id) ?? new Map<string, string[]>();
      byDevice.set(d.label, list);
      edits.set(id, byDevice);
    }
    for (const id of d.record.deletes) deletes.add(id);
  }
  for (const m of server.messages) {
    const s = sent.get(m.id);
    if (!s) continue;
    if (m.isDeleted) {
      if (!deletes.has(m.id)) f.diverged.push(`${m.id} is deleted on the server but no device deleted it`);
      continue;
    }
    if (deletes.has(m.id)) f.lostEdits.push(`${m.id} was deleted on a device but not on the server`);
    const byDevice = edits.get(m.id);
    if (!byDevice) {
      if (m.content !== s.content || m.isEdited)
        f.lostEdits.push(`${m.id} content "${m.content}" but it was sent as "${s.content}" and never edited`);
      continue;
    }
    const finals = [...byDevice.values()].map((l) => l[l.length - 1]!);
    if (!finals.includes(m.content) || !m.isEdited)
      f.lostEdits.push(`${m.id} content "${m.content}", expected one of ${JSON.stringify(finals)}`);
  }

  // --- what the server derives in the same commit
  for (const c of server.conversations) {
    const inConv = server.messages.filter((m) => m.conversation === c.id);
    for (const p of c.participants) {
      const unread = inConv.filter((m) => m.recipient === p && !m.isRead && !m.isDeleted).length;
      if ((c.unreadCount[p] ?? 0) !== unread)
        f.derived.push(`${c.id} unreadCount[${p}] = ${c.unreadCount[p] ?? 0}, messages say ${unread}`);
    }
    if (inConv.length > 0) {
      const last = inConv.reduce((a, b) => (a.sentAt! > b.sentAt! || (a.sentAt === b.sentAt && a.createdAt >= b.createdAt) ? a : b));
      if (c.lastMessage === null || !inConv.some((m) => m.id === c.lastMessage))
        f.derived.push(`${c.id} lastMessage ${c.lastMessage} is not one of its messages`);
      else if (messages.get(c.lastMessage)!.sentAt! < last.sentAt!)
        f.derived.push(`${c.id} lastMessage ${c.lastMessage} is older than ${last.id}`);
    }
  }
  return f;
}

export function countFindings(f: Findings) {
  return {
    lost: f.lostOnServer.length + f.lostOnDevice.length + f.lostReceipts.length + f.lostEdits.length,
    duplicated: f.duplicated.length,
    diverged: f.diverged.length + f.derived.length,
    checkpoint: f.checkpoint.length,
    unsettled: f.unsettled.length,
  };
}
