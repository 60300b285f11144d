import { type ConversationDoc, type PushRow, RETRYABLE_REJECT_CODES, type RejectedRow } from '@fetchwork/shared-schema';
import type { ConversationCollection } from '../db/collections';
import type { BeforePushResult } from './collection-sync';
import { request } from './request';
import type { SyncSocket } from './socket';

export interface ConversationGateOptions {
  conversations: ConversationCollection;
  socket: SyncSocket;
  ackTimeoutMs: number;
  signal: AbortSignal;
  recordConversationFailures(rows: RejectedRow[]): Promise<void>;
}

/**
 * The server refuses a message whose conversation it does not know (CONVERSATION_NOT_FOUND)
 * and the two collections replicate independently, so a new conversation and its first
 * message can reach it in either order. Before a message batch goes out, every conversation it
 * names that the server has not confirmed yet is pushed first. Creating a conversation is
 * idempotent on the server (the id is derived), so this and the conversations replication
 * may both send it. Messages of a conversation the server refuses for good fail with it.
 */
export function createConversationGate(o: ConversationGateOptions) {
  const confirmed = new Set<string>();

  return async function beforeMessagePush(rows: PushRow<'messages'>[]): Promise<BeforePushResult<'messages'>> {
    const ids = [...new Set(rows.map((r) => r.newDocumentState.conversation))].filter((id) => !confirmed.has(id));
    if (ids.length === 0) return { rows, failed: [] };
    const local = await o.conversations.findByIds(ids).exec();
    const unconfirmed: ConversationDoc[] = [];
    for (const id of ids) {
      const doc = local.get(id);
      // Unknown here: let the server answer (it may know the conversation from the other side).
      if (!doc) continue;
      if (doc.seq > 0) confirmed.add(id);
      else unconfirmed.push(doc.toJSON() as ConversationDoc);
    }
    if (unconfirmed.length === 0) return { rows, failed: [] };

    const answer = await request(
      o.socket,
      'sync:push',
      {
        collection: 'conversations',
        rows: unconfirmed.map((c) => ({ assumedMasterState: null, newDocumentState: { ...c, _deleted: false } })),
      },
      o.ackTimeoutMs,
      o.signal,
    );
    const refused = new Map<string, RejectedRow>();
    for (const r of answer.rejected) {
      if (r.id !== null && !RETRYABLE_REJECT_CODES.includes(r.code)) refused.set(r.id, r);
    }
    for (const c of unconfirmed) if (!refused.has(c.id) && !answer.rejected.some((r) => r.id === c.id)) confirmed.add(c.id);
    if (refused.size === 0) return { rows, failed: [] };

    await o.recordConversationFailures([...refused.values()]);
    const failed: RejectedRow[] = [];
    const kept: PushRow<'messages'>[] = [];
    for (const row of rows) {
      const why = refused.get(row.newDocumentState.conversation);
      if (why) failed.push({ id: row.newDocumentState.id, code: why.code, message: `the conversation was refused: ${why.message}` });
      else kept.push(row);
    }
    return { rows: kept, failed };
  };
}
