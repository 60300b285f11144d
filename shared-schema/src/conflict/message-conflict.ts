import type { RxConflictHandler, RxConflictHandlerInput } from 'rxdb';
import type { MessageDoc, Wire } from '../documents';
import { jsonEqual } from './equality';

type WireMessage = Wire<MessageDoc>;

/**
 * The message fields a client controls, reduced to what they mean: receipts and edit/delete
 * flags compare by whether they are set, not by timestamp, because the server stamps those
 * times with its own clock. The server compares a push's assumed master with its stored state
 * through this projection, so a quick second edit made before the first one's echo arrives
 * (RxDB keeps the client's own copy as the assumed master) is not mistaken for a conflict.
 */
function clientProjection(m: WireMessage) {
  return {
    id: m.id,
    conversation: m.conversation,
    sender: m.sender,
    recipient: m.recipient,
    messageType: m.messageType,
    content: m.isDeleted ? '' : m.content,
    attachments: m.isDeleted ? [] : m.attachments,
    isEdited: m.isDeleted ? false : m.isEdited,
    isDeleted: m.isDeleted,
    isRead: m.isRead,
    delivered: m.deliveredAt !== null,
    removed: m._deleted,
  };
}

export function sameClientMessageState(a: WireMessage, b: WireMessage): boolean {
  return jsonEqual(clientProjection(a), clientProjection(b));
}

/** Earlier of two nullable ISO times (a receipt keeps the first time it was set). */
function firstTime(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a <= b ? a : b;
}

/**
 * Which side's content wins: the local state only with a strictly later edit. A local change
 * that is not a later edit (e.g. a recipient's tampering, which the server refused) loses, so the
 * resolved state equals the master and RxDB stops pushing it.
 */
function contentWinner(master: WireMessage, local: WireMessage): WireMessage {
  const m = master.editedAt ?? '';
  const l = local.editedAt ?? '';
  return l > m ? local : master;
}

/**
 * Field-by-field merge of a local state into the server's state. Deterministic and idempotent:
 * merging the result into the same master again gives the same result, so no push storms.
 * - server fields (seq, sentAt, createdAt, updatedAt) and identity fields come from the master;
 * - delivered and read only move forward (monotonic); read implies delivered;
 * - content is last-writer-wins between edits, the master on a tie (the server lets only the sender edit);
 * - delete is sticky and clears content and attachments.
 */
export function mergeMessage(master: WireMessage, local: WireMessage): WireMessage {
  const isRead = master.isRead || local.isRead;
  const readAt = isRead ? (master.isRead ? master.readAt : local.readAt) : null;
  const deliveredAt = master.deliveredAt ?? local.deliveredAt ?? (isRead ? readAt : null);
  const isDeleted = master.isDeleted || local.isDeleted;
  const winner = contentWinner(master, local);
  const merged: WireMessage = {
    ...master,
    isRead,
    readAt,
    deliveredAt,
    isDeleted,
    deletedAt: isDeleted ? firstTime(master.isDeleted ? master.deletedAt : null, local.isDeleted ? local.deletedAt : null) : null,
    content: isDeleted ? '' : winner.content,
    attachments: isDeleted ? [] : winner.attachments,
    isEdited: winner.isEdited,
    editedAt: winner.editedAt,
    _deleted: false,
  };
  return merged;
}

export const messageConflictHandler: RxConflictHandler<MessageDoc> = {
  /**
   * Full equality over every replicated field, server fields included: RxDB's downstream skips
   * writing a pulled document that isEqual calls equal to the local one, so ignoring `sentAt`
   * here would keep a sent message pending forever. The server-side conflict check uses
   * sameClientMessageState instead (see above).
   */
  isEqual(a, b) {
    return jsonEqual(a, b);
  },
  resolve(input: RxConflictHandlerInput<MessageDoc>) {
    return Promise.resolve(mergeMessage(input.realMasterState, input.newDocumentState));
  },
};
