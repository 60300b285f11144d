import type { ConversationDoc } from '@fetchwork/shared-schema';
import type { SyncStore } from '../store/port';

/** Server writes of conversations (SyncService): locked, compare-and-set, committed and streamed like any change. */
export interface ConversationRewriter {
  rewriteConversations(ids: readonly string[], change: (c: ConversationDoc) => ConversationDoc | null): Promise<number>;
}

/**
 * Conversations read and rewritten per step. One step is one read of the user's feed and one
 * commit; between steps the event loop serves everyone else, so a user with thousands of
 * conversations never holds the process (or SQLite's write lock) for long.
 */
export const RENAME_CHUNK = 100;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const withName = (userId: string, name: string) => (c: ConversationDoc) =>
  c.participants.includes(userId) && c.participantNames[userId] !== name
    ? { ...c, participantNames: { ...c.participantNames, [userId]: name } }
    : null;

/**
 * Brings `name` into every conversation of the user: a walk of the user's conversation feed
 * from the start, in steps. A conversation rewritten here (or by a message meanwhile) moves to
 * the end of the feed with its new sequence, so the walk meets it again and finds it done; one
 * created meanwhile is met too. Messages are never touched: history keeps its sequences.
 * Returns how many conversations were rewritten.
 */
export async function applyName(
  feed: Pick<SyncStore, 'pullFeed'>,
  rewriter: ConversationRewriter,
  userId: string,
  name: string,
  chunk = RENAME_CHUNK,
): Promise<number> {
  const change = withName(userId, name);
  let after = 0;
  let rewritten = 0;
  for (;;) {
    const page = await feed.pullFeed(userId, 'conversations', after, chunk);
    const due = page.filter((c) => change(c) !== null).map((c) => c.id);
    // The rewriter reads each conversation again under its lock and decides on that copy.
    if (due.length > 0) rewritten += await rewriter.rewriteConversations(due, change);
    const last = page[page.length - 1];
    if (!last || page.length < chunk) return rewritten;
    after = last.seq;
    await yieldToEventLoop();
  }
}
