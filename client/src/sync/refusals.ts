import type { CollectionName, RejectedRow } from '@fetchwork/shared-schema';
import type { RxCollection } from 'rxdb';
import type { OutboxStore } from '../db/outbox-store';

/**
 * Records the server's permanent refusals as failed outbox entries, for documents the replica
 * still holds. A refusal can arrive after the user discarded the write (an earlier push of the
 * same document was still in flight): recording it would leave a failure entry for a message
 * that no longer exists. A discard that lands between the check and the write is caught by
 * checking again afterwards.
 */
export async function recordRefusals(
  outbox: OutboxStore,
  collection: RxCollection,
  name: CollectionName,
  rows: readonly RejectedRow[],
): Promise<void> {
  const held = async (ids: string[]) => (await collection.findByIds(ids).exec()) as Map<string, unknown>;
  const ids = rows.flatMap((r) => (r.id === null ? [] : [r.id]));
  if (ids.length === 0) return;
  const before = await held(ids);
  const kept = rows.filter((r) => r.id !== null && before.has(r.id));
  if (kept.length === 0) return;
  await outbox.markFailed(name, kept);
  const after = await held(kept.map((r) => r.id as string));
  for (const r of kept) if (!after.has(r.id as string)) await outbox.remove(name, r.id as string);
}
