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

const sameContent = (a: WireMessage, b: WireMessage) => a.content === b.content && jsonEqual(a.attachments, b.attachments);

/**
 * Which side's content wins: the local state only with a different text and a strictly later
 * edit. The same text keeps the master's edit stamp (the server's clock, not the client's), and
 * a local change that is not a later edit (e.g. a recipient's tampering, which the server
 * refused) loses, so the resolved state equals the master and RxDB stops pushing it.
 */
function contentWinner(master: WireMessage, local: WireMessage): WireMessage {
  if (sameContent(master, local)) return master;
  const m = master.editedAt ?? '';
  const l = local.editedAt ?? '';
  return l > m ? local : master;
}

/**
 * Field-by-field merge of a local state into the server's state. Deterministic and idempotent:
 * merging the result into the same master again gives the same result, so no push storms.
 * When the local state says nothing the master does not already say (same client-controlled
 * state), the result is the master exactly: the server answers a copy that differs from its
 * stored state in any field with that state, so anything else would be pushed back and forth
 * forever.
 * - server fields (seq, sentAt, createdAt, updatedAt) and identity fields come from the master;
 * - times the server stamps (readAt, deliveredAt, editedAt, deletedAt) come from the master
 *   whenever the master has that state; a local time only travels with a state the master lacks;
 * - delivered and read only move forward (monotonic); read implies delivered;
 * - content is last-writer-wins between edits of different text, the master on a tie;
 * - delete is sticky and clears content and attachments (and the edit mark, as the server does).
 */
export function mergeMessage(master: WireMessage, local: WireMessage): WireMessage {
  const isRead = master.isRead || local.isRead;
  const readAt = isRead ? (master.isRead ? master.readAt : local.readAt) : null;
  const deliveredAt = master.deliveredAt ?? local.deliveredAt ?? (isRead ? readAt : null);
  let body: Pick<WireMessage, 'content' | 'attachments' | 'isEdited' | 'editedAt' | 'isDeleted' | 'deletedAt'>;
  if (master.isDeleted) {
    body = {
      content: '',
      attachments: [],
      isEdited: master.isEdited,
      editedAt: master.editedAt,
      isDeleted: true,
      deletedAt: master.deletedAt,
    };
  } else if (local.isDeleted) {
    body = { content: '', attachments: [], isEdited: false, editedAt: null, isDeleted: true, deletedAt: local.deletedAt };
  } else {
    const winner = contentWinner(master, local);
    body = {
      content: winner.content,
      attachments: winner.attachments,
      isEdited: winner.isEdited,
      editedAt: winner.editedAt,
      isDeleted: false,
      deletedAt: null,
    };
  }
  return { ...master, isRead, readAt, deliveredAt, ...body, _deleted: false };
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
