import type { Subscription } from 'rxjs';
import type { MessageCollection } from '../db/collections';
import type { OutboxStore } from '../db/outbox-store';

/**
 * Leader-side: a message that reached this replica for the signed-in user is marked delivered
 * (the server stamps the time). One tab does it; the write is idempotent anyway, and the
 * server ignores a second "delivered" for a message that already is.
 *
 * A receipt is not a write the user made, so it takes no outbox entry: the entry cost three
 * IndexedDB operations per received message (upsert, find, remove) and the receipt is safe
 * without it — RxDB pushes the local change from its own upstream checkpoint after a reload,
 * and this query finds any message still undelivered on the next start.
 */
export function startAutoDelivery(messages: MessageCollection, userId: string, _outbox?: OutboxStore): Subscription {
  const inFlight = new Set<string>();
  return messages.find({ selector: { recipient: userId, isRead: false, deliveredAt: null } }).$.subscribe((docs) => {
    for (const doc of docs) {
      // Only what came from the server: seq 0 would be a local draft (not ours to receive).
      if (doc.seq === 0 || inFlight.has(doc.id)) continue;
      inFlight.add(doc.id);
      doc
        .incrementalModify((d) => (d.deliveredAt === null && !d.isRead ? { ...d, deliveredAt: new Date().toISOString() } : d))
        .catch(() => undefined)
        .finally(() => inFlight.delete(doc.id));
    }
  });
}
