import { COLLECTIONS, type StreamEvent } from '@fetchwork/shared-schema';
import type { ChangeBus, ChangeEvent } from '../sync/change-bus';
import type { SyncServer } from './types';
import { userRoom } from './types';

/**
 * Turns committed changes into `sync:stream` events for this instance's sockets. A socket gets
 * the documents and the new checkpoint only when the change continues exactly from the position
 * it is known to hold; otherwise (it is mid-pull, it missed something, or events crossed between
 * instances) it gets `{ resync: true }` and pulls from its own checkpoint. So a checkpoint never
 * moves past a change the client has not received.
 */
export function startStreamDispatcher(io: SyncServer, bus: ChangeBus): () => void {
  return bus.subscribe((event: ChangeEvent) => {
    if (event.resyncAll) {
      for (const socket of io.of('/').sockets.values()) {
        for (const collection of COLLECTIONS) socket.emit('sync:stream', { collection, resync: true });
      }
    }
    for (const feed of event.feeds) {
      const socketIds = io.of('/').adapter.rooms.get(userRoom(feed.userId));
      if (!socketIds) continue;
      const last = feed.docs[feed.docs.length - 1];
      if (!last) continue;
      for (const socketId of socketIds) {
        const socket = io.of('/').sockets.get(socketId);
        if (!socket) continue;
        const cursor = socket.data.cursors[feed.collection];
        let message: StreamEvent;
        if (cursor === feed.prevSeq) {
          socket.data.cursors[feed.collection] = last.seq;
          message = {
            collection: feed.collection,
            documents: feed.docs.map((d) => ({ ...d, _deleted: false })),
            checkpoint: { seq: last.seq },
          } as StreamEvent;
        } else {
          message = { collection: feed.collection, resync: true };
        }
        socket.emit('sync:stream', message);
      }
    }
  });
}
