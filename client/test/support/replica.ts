import type { MessageDoc } from '@fetchwork/shared-schema';
import type { InboxHandle } from '../../src/inbox/create-inbox';
import type { RestartableServer } from './server';

/** Every message in a device's replica (deleted or not), plain. */
export async function replicaMessages(inbox: InboxHandle): Promise<MessageDoc[]> {
  const docs = await inbox.database.messages.find().exec();
  return docs.map((d) => d.toJSON() as MessageDoc);
}

/** Every message in a user's server feed. */
export async function serverMessages(server: RestartableServer, userId: string): Promise<MessageDoc[]> {
  return server.current.store.pullFeed(userId, 'messages', 0, 1000);
}

export function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
