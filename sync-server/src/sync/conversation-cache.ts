import type { ConversationDoc } from '@fetchwork/shared-schema';

/**
 * The stored conversations this instance last read or committed, so a new message's push does
 * not read its conversation again (one of the two reads of a one-message push). Never trusted
 * for a write: every message that uses a cached conversation rewrites it with a compare-and-set
 * on its sequence, so a copy made stale by another instance (or process) fails that commit, and
 * the retry reads the store. Within this instance a conversation changes only under its lock in
 * SyncService, where the cache is refreshed. Entries are shared and must not be mutated.
 */
export class ConversationCache {
  private readonly docs = new Map<string, ConversationDoc>();

  constructor(private readonly capacity = 20_000) {}

  get(id: string): ConversationDoc | undefined {
    const doc = this.docs.get(id);
    if (doc) {
      // Most recently used last, so the oldest entry is the first the map iterates.
      this.docs.delete(id);
      this.docs.set(id, doc);
    }
    return doc;
  }

  /** Keeps a stored state; an older one than the cached (a late read) is ignored. */
  remember(doc: ConversationDoc): void {
    const cached = this.docs.get(doc.id);
    if (cached && cached.seq > doc.seq) return;
    this.docs.delete(doc.id);
    this.docs.set(doc.id, doc);
    if (this.docs.size > this.capacity) {
      const oldest = this.docs.keys().next().value;
      if (oldest !== undefined) this.docs.delete(oldest);
    }
  }
}
