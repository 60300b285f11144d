import type { CollectionName } from '@fetchwork/shared-schema';
import type { SyncSocket } from './types';

/**
 * A read that positions a socket in a collection's feed (a pull, a bootstrap) is asynchronous:
 * the SQLite store answers some reads from its read thread, MongoDB answers every one over the
 * network. A commit streamed to the socket meanwhile (its documents, or a resync) reaches the
 * client before the answer, which then positions it before that commit, and the client may
 * have set the stream aside while its read was out. So the read notes how many stream events the
 * socket had been sent (`SocketData.streamed`, counted by the stream dispatcher); when the answer
 * is out and that number moved, the socket gets a resync, and the client pulls from the answer's
 * checkpoint whatever the stream carried. Nothing is skipped either way; at worst it is pulled
 * twice.
 */
export function beginRead(socket: SyncSocket, collection: CollectionName) {
  const streamedBefore = socket.data.streamed[collection] ?? 0;
  return {
    /** Positions the socket at the answer's checkpoint (if it has one); true when a resync must follow the answer. */
    settle(seq: number | null): boolean {
      if (seq !== null) socket.data.cursors[collection] = seq;
      return (socket.data.streamed[collection] ?? 0) !== streamedBefore;
    },
  };
}

/** Counts a stream event (documents or a resync) sent to the socket, for the reads under way. */
export function noteStreamed(socket: SyncSocket, collection: CollectionName): void {
  socket.data.streamed[collection] = (socket.data.streamed[collection] ?? 0) + 1;
}

/** Tells the socket's client to pull from its own checkpoint (counted like every stream event). */
export function sendResync(socket: SyncSocket, collection: CollectionName): void {
  noteStreamed(socket, collection);
  socket.emit('sync:stream', { collection, resync: true });
}
