import type { ConversationDoc } from '@fetchwork/shared-schema';
import type { SyncStore } from '../../store/port';

type Participants = ReadonlyMap<string, readonly string[]>;

interface Entry {
  refs: number;
  /** conversation id → participants, for the conversations this user takes part in. */
  conversations: Promise<Map<string, readonly string[]>>;
  /** The same map once loaded, for the synchronous check of `knows`. */
  loaded?: Map<string, readonly string[]>;
}

/**
 * Who shares a conversation with whom, cached for the users that have a socket on this instance.
 * Participants of a conversation never change (its id is derived from them), so the cache only
 * grows: new conversations are learned from the change feed, and a conversation not known yet
 * (the feed event is still on its way) is looked up in the store.
 */
export class ConversationDirectory {
  private readonly users = new Map<string, Entry>();

  constructor(private readonly store: SyncStore) {}

  /** Keeps the user's conversations cached while they have a socket here. */
  retain(userId: string): void {
    const entry = this.users.get(userId);
    if (entry) {
      entry.refs += 1;
      return;
    }
    const conversations = this.load(userId);
    const fresh: Entry = { refs: 1, conversations };
    // A failed load is not cached: the next caller tries again.
    conversations.then(
      (map) => {
        fresh.loaded = map;
      },
      () => {
        if (this.users.get(userId) === fresh) this.users.delete(userId);
      },
    );
    this.users.set(userId, fresh);
  }

  release(userId: string): void {
    const entry = this.users.get(userId);
    if (!entry) return;
    entry.refs -= 1;
    if (entry.refs <= 0) this.users.delete(userId);
  }

  /** Everyone who shares a conversation with the user (never the user). */
  async contactsOf(userId: string): Promise<string[]> {
    const conversations = await this.conversationsOf(userId);
    const contacts = new Set<string>();
    for (const participants of conversations.values()) for (const p of participants) if (p !== userId) contacts.add(p);
    return [...contacts];
  }

  /** The conversation's participants if the user is one of them, else null (also for an unknown id). */
  async participants(userId: string, conversationId: string): Promise<readonly string[] | null> {
    const cached = (await this.conversationsOf(userId)).get(conversationId);
    if (cached) return cached;
    const [doc] = await this.store.getDocs('conversations', [conversationId]);
    if (!doc?.participants.includes(userId)) return null;
    await this.learn(userId, doc);
    return doc.participants;
  }

  /**
   * True when `learn` would certainly add nothing: the user is not cached here, or their cached
   * conversations already hold this one. Every message rewrites its conversation, so the change
   * feed carries known conversations far more often than new ones.
   */
  knows(userId: string, conversationId: string): boolean {
    const entry = this.users.get(userId);
    return !entry || entry.loaded?.has(conversationId) === true;
  }

  /**
   * Records a conversation of a cached user; returns the contacts it adds (people the user shared
   * no conversation with until now). Uncached users are skipped: they are loaded in full later.
   */
  async learn(userId: string, conversation: ConversationDoc): Promise<string[]> {
    const entry = this.users.get(userId);
    if (!entry || !conversation.participants.includes(userId)) return [];
    const conversations = await entry.conversations;
    if (conversations.has(conversation.id)) return [];
    const before = new Set(contactsIn(conversations, userId));
    conversations.set(conversation.id, [...conversation.participants]);
    return conversation.participants.filter((p) => p !== userId && !before.has(p));
  }

  private conversationsOf(userId: string): Promise<Participants> {
    return this.users.get(userId)?.conversations ?? this.load(userId);
  }

  private async load(userId: string): Promise<Map<string, readonly string[]>> {
    const list = await this.store.listConversations(userId);
    return new Map(list.map((c) => [c.id, [...c.participants]]));
  }
}

function contactsIn(conversations: Participants, userId: string): string[] {
  return [...conversations.values()].flat().filter((p) => p !== userId);
}
