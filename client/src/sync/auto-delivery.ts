import { LIMITS, type MessageDoc } from '@fetchwork/shared-schema';
import { type Observable, Subscription } from 'rxjs';
import type { MessageCollection } from '../db/collections';
import { request } from './request';
import type { SyncSocket } from './socket';

const RETRY_MS = 1_000;

export interface AutoDeliveryOptions {
  messages: MessageCollection;
  /** Every document the messages replication stored from the server (pulled or streamed). */
  received$: Observable<MessageDoc>;
  userId: string;
  socket: SyncSocket;
  ackTimeoutMs: number;
  signal: AbortSignal;
}

/**
 * Leader-side: a message that reached this replica for the signed-in user is reported delivered
 * with `messages:delivered`; the server stamps the time and streams the message back with it.
 * The replica itself writes nothing: a receipt pushed through the messages replication made RxDB
 * hold every incoming stream event for the push's round trip, and cost a local write and its
 * replication bookkeeping per received message.
 *
 * What to report comes from the documents the replication receives, plus one query at start and
 * after every reconnect for whatever is still undelivered (missed while another tab led, or
 * reported on a connection that dropped before the stamped copy came back). A live query would be
 * re-run over every unread message on each change: with thousands unread, a catch-up turned
 * quadratic. Receipts are idempotent, so reporting one twice costs only a no-op on the server.
 *
 * The server streams the stamped copy before it answers, so a message received undelivered after
 * its receipt was acknowledged is one the receipt did not reach (it lost a race with an edit):
 * it is reported again.
 */
export function startAutoDelivery(o: AutoDeliveryOptions): Subscription {
  const queue = new Set<string>();
  /** In the request being sent: not queued again until it is answered. */
  const inFlight = new Set<string>();
  let sending = false;

  const consider = (d: MessageDoc) => {
    if (d.recipient !== o.userId) return;
    // seq 0 would be a local draft, not something received from the server.
    if (d.deliveredAt === null && !d.isRead && d.seq > 0) {
      if (!inFlight.has(d.id)) queue.add(d.id);
    } else {
      queue.delete(d.id);
    }
  };

  const send = async () => {
    if (sending || o.signal.aborted) return;
    sending = true;
    try {
      while (queue.size > 0 && !o.signal.aborted) {
        const batch = [...queue].slice(0, LIMITS.deliveredMaxIds);
        for (const id of batch) {
          queue.delete(id);
          inFlight.add(id);
        }
        try {
          await request(o.socket, 'messages:delivered', { ids: batch }, o.ackTimeoutMs, o.signal);
        } catch {
          for (const id of batch) {
            inFlight.delete(id);
            queue.add(id);
          }
          // Disconnected: the sweep after the reconnect sends them. Connected (rate limited, a
          // timeout): again after a pause, at most once a second.
          if (o.socket.connected && !o.signal.aborted) setTimeout(() => void send(), RETRY_MS);
          return;
        }
        for (const id of batch) inFlight.delete(id);
      }
    } finally {
      sending = false;
    }
  };

  const sweep = async () => {
    const docs = await o.messages.find({ selector: { recipient: o.userId, isRead: false, deliveredAt: null } }).exec();
    for (const d of docs) consider(d.toJSON() as MessageDoc);
    await send();
  };

  const sub = new Subscription();
  sub.add(
    o.received$.subscribe((d) => {
      consider(d);
      void send();
    }),
  );
  const onConnect = () => {
    // Whatever is still undelivered, including receipts whose answer was lost with the connection.
    void sweep().catch(() => undefined);
  };
  o.socket.on('connect', onConnect);
  sub.add(() => o.socket.off('connect', onConnect));
  void sweep().catch(() => undefined);
  return sub;
}
