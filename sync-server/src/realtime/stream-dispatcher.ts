import { COLLECTIONS, type StreamEvent } from '@fetchwork/shared-schema';
import type { FeedChange } from '../store/port';
import type { ChangeBus, ChangeEvent } from '../sync/change-bus';
import { toWire } from '../sync/stored-documents';
import type { OutboundBatch } from './outbound-batch';
import { noteStreamed, sendResync } from './read-position';
import type { SyncServer, SyncSocket } from './types';
import { userRoom } from './types';

/** The part of Socket.io's per-connection client this relies on; checked at run time. */
interface EncodedWriter {
  conn: { readyState: string };
  writeToEngine(packets: string[], opts: object): void;
}

/**
 * A `sync:stream` event as Socket.io's parser encodes an event on the main namespace without
 * binary or ack: its type (2) followed by the JSON array of name and payload. Built once and
 * written to every socket that gets it, as Socket.io's own broadcasts do; the parser would
 * encode it again for each socket and first walk it looking for binary.
 */
const encodeStream = (event: StreamEvent): string => `2${JSON.stringify(['sync:stream', event])}`;

function writeEncoded(socket: SyncSocket, packet: string, event: StreamEvent): void {
  const client = socket.client as unknown as Partial<EncodedWriter>;
  if (typeof client.writeToEngine !== 'function' || !client.conn) {
    socket.emit('sync:stream', event);
    return;
  }
  // What Socket.io checks before writing a packet of its own.
  if (client.conn.readyState === 'open') client.writeToEngine([packet], {});
}

/** The same documents (by sequence) make the same event, whichever user's feed carries them. */
const contentKey = (feed: FeedChange): string => `${feed.collection}\u0000${feed.docs.map((d) => d.seq).join(',')}`;

/**
 * Turns committed changes into `sync:stream` events for this instance's sockets. A socket gets
 * the documents and the new checkpoint only when the change continues exactly from the position
 * it is known to hold; otherwise (it is mid-pull, it missed something, or events crossed between
 * instances) it gets `{ resync: true }` and pulls from its own checkpoint. So a checkpoint never
 * moves past a change the client has not received.
 *
 * One event carries a whole commit group with each user's changes per collection already merged
 * (CommitFanout), so a socket gets one emit per collection per group. Its documents are encoded
 * once per event however many sockets get them: a message's feed change for its sender and for
 * its recipient are the same event, and so are every tab's.
 */
export function startStreamDispatcher(io: SyncServer, bus: ChangeBus, outbound?: OutboundBatch): () => void {
  const nsp = io.of('/');
  return bus.subscribe((event: ChangeEvent) => {
    if (event.resyncAll) {
      for (const socket of nsp.sockets.values()) {
        for (const collection of COLLECTIONS) sendResync(socket, collection);
      }
    }
    const encoded = new Map<string, { event: StreamEvent; packet: string }>();
    for (const feed of event.feeds) {
      const socketIds = nsp.adapter.rooms.get(userRoom(feed.userId));
      if (!socketIds) continue;
      const last = feed.docs[feed.docs.length - 1];
      if (!last) continue;
      let documents: { event: StreamEvent; packet: string } | undefined;
      for (const socketId of socketIds) {
        const socket = nsp.sockets.get(socketId);
        if (!socket) continue;
        outbound?.hold(socket);
        const cursors = socket.data.cursors;
        if (cursors[feed.collection] === feed.prevSeq) {
          noteStreamed(socket, feed.collection);
          cursors[feed.collection] = last.seq;
          if (!documents) {
            const key = contentKey(feed);
            documents = encoded.get(key);
            if (!documents) {
              const streamEvent = {
                collection: feed.collection,
                documents: feed.docs.map(toWire),
                checkpoint: { seq: last.seq },
              } as StreamEvent;
              documents = { event: streamEvent, packet: encodeStream(streamEvent) };
              encoded.set(key, documents);
            }
          }
          writeEncoded(socket, documents.packet, documents.event);
        } else {
          sendResync(socket, feed.collection);
        }
      }
    }
  });
}
