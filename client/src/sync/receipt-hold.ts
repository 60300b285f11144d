import type { MessageDoc } from '@fetchwork/shared-schema';
import type { MessageCollection } from '../db/collections';
import { UnchangedHold } from './unchanged-hold';

/** Recently stored messages to the user whose stamps may wait (enough for any receipt's echo). */
const REMEMBERED = 2_000;

/**
 * Which streamed message changes may wait (stream-buffer.ts, `hold`): the server's stamps on a
 * message to the signed-in user that nothing on this user's screen shows.
 *
 * When a message reaches this replica it is reported delivered, and when it is read the read is
 * pushed; either way the server stamps the time and streams the message back to both users. The
 * sender's screen shows those stamps (the ticks), the recipient's does not: for the recipient the
 * echo was a replica write per message for nothing visible. So on the recipient's side a batch of
 * messages to them that differ from the stored copy only in `deliveredAt`, `readAt`, `updatedAt`
 * and `seq` may wait `ms` and be stored together. A message not stored here recently, or with
 * any other change (an edit, a deletion, a read made elsewhere), is applied at once, with
 * everything held before it.
 */
export function receiptStampHold(collection: MessageCollection, userId: string, ms: number): UnchangedHold<MessageDoc> {
  return new UnchangedHold(collection, { ms, identity, concerns: (m) => m.recipient === userId, remember: REMEMBERED });
}

/** Everything but the server's stamps (deliveredAt, readAt, updatedAt, seq). */
function identity(m: MessageDoc): string {
  return JSON.stringify([m.content, m.messageType, m.attachments, m.isRead, m.isEdited, m.isDeleted, m.editedAt, m.deletedAt, m.seq > 0]);
}
