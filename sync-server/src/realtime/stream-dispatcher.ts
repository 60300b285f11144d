import { COLLECTIONS, type StreamEvent } from '@fetchwork/shared-schema';
import type { ChangeBus, ChangeEvent } from '../sync/change-bus';
import type { OutboundBatch } from './outbound-batch';
import type { SyncServer } from './types';
import { userRoom } from './types';

/**
 * Turns committed changes into `sync:stream` events for this instance's sockets. A socket gets
 * the documents and the new checkpoint only when the change continues exactly from the position
 * it is known to hold; otherwise (it is mid-pull, it missed something, or events crossed between
 * instances) it gets `{ resync: true }` and pulls from its own checkpoint. So a checkpoint never
 * moves past a change the client has not received.
 *
 * One event carries a whole commit group with each user's changes per collection already merged
 * (CommitFanout), so a socket gets one emit per collection per group.
 */
export function startStreamDispatcher(io: SyncServer, bus: ChangeBus, outbound?: OutboundBatch): () => void {
  const nsp = io.of('/');
  return bus.subscribe((event: ChangeEvent) => {
    if (event.resyncAll) {
      for (const socket of nsp.sockets.values()) {
        for (const collection of COLLECTIONS) socket.emit('sync:stream', { collection, resync: true });
      }
    }
    for (const feed of event.feeds) {
      const socketIds = nsp.adapter.rooms.get(userRoom(feed.userId));
      if (!socketIds) continue;
      const last = feed.docs[feed.docs.length - 1];
      if (!last) continue;
      // Built once for all of the user's sockets (tabs, devices) that continue from prevSeq.
      let documents: StreamEvent | null = null;
      for (const socketId of socketIds) {
        const socket = nsp.sockets.get(socketId);
        if (!socket) continue;
        outbound?.hold(socket);
        const cursors = socket.data.cursors;
        if (cursors[feed.collection] === feed.prevSeq) {
          cursors[feed.collection] = last.seq;
          documents ??= {
            collection: feed.collection,
            documents: feed.docs.map((d) => ({ ...d, _deleted: false })),
            checkpoint: { seq: last.seq },
          } as StreamEvent;
          socket.emit('sync:stream', documents);
        } else {
          socket.emit('sync:stream', { collection: feed.collection, resync: true });
        }
      }
    }
  });
}
