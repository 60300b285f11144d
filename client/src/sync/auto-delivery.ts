import { LIMITS } from '@fetchwork/shared-schema';
import { Subscription } from 'rxjs';
import type { MessageCollection } from '../db/collections';
import { request } from './request';
import type { SyncSocket } from './socket';

export interface AutoDeliveryOptions {
  messages: MessageCollection;
  userId: string;
  socket: SyncSocket;
  ackTimeoutMs: number;
  signal: AbortSignal;
}

/**
 * Leader-side: a message that reached this replica for the signed-in user is reported delivered
 * with `messages:delivered`; the server stamps the time and streams the message back with it,
 * which takes it out of the query below. The replica itself writes nothing: a receipt pushed
 * through the messages replication made RxDB hold every incoming stream event for the push's
 * round trip, and cost a local write and its replication bookkeeping per received message.
 *
 * Receipts are idempotent and derivable: whatever is still undelivered here is reported again
 * after a reconnect (or on the next change of the query), so nothing needs to be stored for them.
 */
export function startAutoDelivery(o: AutoDeliveryOptions): Subscription {
  /** Reported and not yet echoed back as delivered: not reported twice meanwhile. */
  const reported = new Set<string>();
  let undelivered: string[] = [];
  let sending = false;

  const send = async () => {
    if (sending || o.signal.aborted) return;
    sending = true;
    try {
      for (;;) {
        const batch = undelivered.filter((id) => !reported.has(id)).slice(0, LIMITS.deliveredMaxIds);
        if (batch.length === 0 || o.signal.aborted) return;
        for (const id of batch) reported.add(id);
        try {
          await request(o.socket, 'messages:delivered', { ids: batch }, o.ackTimeoutMs, o.signal);
        } catch {
          // Not acknowledged (offline, timeout, refused): reported again after the reconnect.
          for (const id of batch) reported.delete(id);
          return;
        }
      }
    } finally {
      sending = false;
    }
  };

  const sub = new Subscription();
  sub.add(
    o.messages.find({ selector: { recipient: o.userId, isRead: false, deliveredAt: null } }).$.subscribe((docs) => {
      // seq 0 would be a local draft, not something received from the server.
      undelivered = docs.filter((d) => d.seq > 0).map((d) => d.id);
      const still = new Set(undelivered);
      for (const id of reported) if (!still.has(id)) reported.delete(id);
      void send();
    }),
  );
  const onConnect = () => {
    // An acknowledged receipt whose echo was lost with the old connection is reported again.
    reported.clear();
    void send();
  };
  o.socket.on('connect', onConnect);
  sub.add(() => o.socket.off('connect', onConnect));
  return sub;
}
