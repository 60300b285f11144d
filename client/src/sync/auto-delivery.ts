import { LIMITS, type MessageDoc } from '@fetchwork/shared-schema';
import { type Observable, Subscription } from 'rxjs';
import type { MessageCollection } from '../db/collections';
import { request } from './request';
import type { SyncSocket } from './socket';

const RETRY_MS = 1_000;
/**
 * Received and unreported messages from which a report goes out without the grace: a backlog
 * (a reconnect's catch-up) nobody reads in the grace anyway, and the grace was a quarter of a
 * catch-up's time until the sender saw its 1,000 messages delivered.
 */
const BACKLOG = 20;

export interface AutoDeliveryOptions {
  messages: MessageCollection;
  /** Every document stored from the server: pulled or streamed by the replication, or stored by its writer (bootstrap, history, pages). */
  received$: Observable<MessageDoc>;
  userId: string;
  socket: SyncSocket;
  ackTimeoutMs: number;
  /**
   * How long a received message waits before it is reported delivered (tuning, 250 ms by
   * default). A message that arrives in the open conversation is read within a few frames, and
   * the read receipt says delivered too: reporting it delivered as well cost both users a
   * request, a commit and an echo each (screen-to-screen bench: ~10 frames into the recipient's
   * page per message).
   */
  graceMs: number;
  signal: AbortSignal;
}

/**
 * Leader-side: a message that reached this replica for the signed-in user is reported delivered
 * with `messages:delivered`; the server stamps the time and streams the message back with it.
 * The replica itself writes nothing: a receipt pushed through the messages replication made RxDB
 * hold every incoming stream event for the push's round trip, and cost a local write and its
 * replication bookkeeping per received message.
 *
 * What to report comes from the documents the replication receives, plus one query at start for
 * whatever is still undelivered (missed while another tab led, or before a reload). A live query
 * would be re-run over every unread message on each change: with thousands unread, a catch-up
 * turned quadratic. A reconnect runs no query: what a dropped connection did not report is still
 * queued here and goes out again, and the catch-up's messages come through `received$`. The query
 * scans every unread message to the user, and IndexedDB makes a store's writes wait for a scan
 * begun before them: on each reconnect it held the catch-up's first write back (1,000 missed with
 * 2,000 unread in the replica, Node: 1.65–1.75 s to store instead of 0.19–0.21 s). Receipts are
 * idempotent, so reporting one twice costs only a no-op on the server.
 *
 * The server streams the stamped copy before it answers, so a message received undelivered after
 * its receipt was acknowledged is one the receipt did not reach (it lost a race with an edit):
 * it is reported again.
 *
 * Reports wait `graceMs` (unless a backlog is queued) and leave out what the replica has marked
 * read meanwhile (seen on the collection's change events).
 */
export function startAutoDelivery(o: AutoDeliveryOptions): Subscription {
  const queue = new Set<string>();
  /** In the request being sent: not queued again until it is answered. */
  const inFlight = new Set<string>();
  let sending = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const schedule = () => {
    if (timer !== null || o.signal.aborted) return;
    timer = setTimeout(() => {
      timer = null;
      void send();
    }, o.graceMs);
  };
  o.signal.addEventListener('abort', () => timer !== null && clearTimeout(timer), { once: true });

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
          // Disconnected: they go out on the reconnect. Connected (rate limited, a timeout):
          // again after a pause, at most once a second.
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
    schedule();
  };

  const sub = new Subscription();
  sub.add(
    o.received$.subscribe((d) => {
      consider(d);
      if (queue.size >= BACKLOG) void send();
      else if (queue.size > 0) schedule();
    }),
  );
  // What is queued, including receipts whose answer was lost with the connection.
  const onConnect = () => void send();
  // Marked read here (this tab or another) while waiting: the read receipt says delivered too.
  // Watched on the collection's change events rather than read back before each report: on a
  // catch-up of 1,000 messages those reads took longer than the requests.
  sub.add(
    o.messages.$.subscribe((e) => {
      const d = e.documentData as MessageDoc | undefined;
      if (d && (d.isRead || d.deliveredAt !== null)) queue.delete(d.id);
    }),
  );
  o.socket.on('connect', onConnect);
  sub.add(() => o.socket.off('connect', onConnect));
  void sweep().catch(() => undefined);
  return sub;
}
