import type { ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import type { SyncStore } from '../../store/port';
import type { Separations } from '../../sync/conversation-limits';

/** A conversation as presence sees it: who is in it and who has written in it. */
interface Conversation {
  participants: readonly string[];
  writers: Set<string>;
}

interface Entry {
  refs: number;
  /** conversation id → state, for the conversations this user takes part in. */
  conversations: Promise<Map<string, Conversation>>;
  /** The same map once loaded, for the synchronous check of `knows`. */
  loaded?: Map<string, Conversation>;
}

/** Both (every) participants have written: the recipient answered, which is their consent. */
const consented = (c: Conversation) => c.participants.every((p) => c.writers.has(p));

/**
 * Who may hear whose presence and typing, cached for the users that have a socket on this
 * instance. Two users are contacts when they share a conversation in which both have written (the
 * other side replied: consent) and neither blocked the other. Writers are derived on the server
 * from stored messages (an indexed probe per participant on load) and then from the change feed,
 * never from a client. Participants of a conversation never change (its id is derived from them),
 * so the cache only grows: new conversations and new writers are learned from the change feed.
 */
export class ConversationDirectory {
  private readonly users = new Map<string, Entry>();

  constructor(
    private readonly store: SyncStore,
    private readonly separations: Separations | null = null,
  ) {}

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

  /** Everyone who may hear the user's presence: consented conversations, no block (never the user). */
  async contactsOf(userId: string): Promise<string[]> {
    const conversations = await this.conversationsOf(userId);
    const contacts = contactsIn(conversations, userId);
    if (contacts.size === 0) return [];
    const separated = await this.separatedFrom(userId);
    return [...contacts].filter((c) => !separated.has(c));
  }

  /** The conversation's participants if the user is one of them, else null (also for an unknown id). */
  async participants(userId: string, conversationId: string): Promise<readonly string[] | null> {
    return (await this.conversation(userId, conversationId))?.participants ?? null;
  }

  /**
   * Who hears the user's typing in this conversation: the other participant once both have written
   * and neither blocked the other, else nobody. Null when the user is not a participant.
   */
  async typingPeers(userId: string, conversationId: string): Promise<string[] | null> {
    const conversation = await this.conversation(userId, conversationId);
    if (!conversation) return null;
    if (!consented(conversation)) return [];
    const separated = await this.separatedFrom(userId);
    return conversation.participants.filter((p) => p !== userId && !separated.has(p));
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
   * Records a conversation of a cached user; returns the contacts it adds (it may already be
   * consented when learned late). Uncached users are skipped: they are loaded in full later.
   */
  async learn(userId: string, conversation: ConversationDoc): Promise<string[]> {
    const entry = this.users.get(userId);
    if (!entry || !conversation.participants.includes(userId)) return [];
    const conversations = await entry.conversations;
    if (conversations.has(conversation.id)) return [];
    // In the map before the writers are read, so a message learned meanwhile is not lost.
    const state: Conversation = { participants: [...conversation.participants], writers: new Set() };
    conversations.set(conversation.id, state);
    const writers = (await this.store.conversationWriters([conversation])).get(conversation.id) ?? [];
    return this.addWriters(userId, conversations, state, writers);
  }

  /**
   * False when `messagesSeen` would certainly add nothing (the hot path: every message of every
   * cached user): the user is not cached, or every sender is a known writer of its conversation.
   */
  mayLearnWriters(userId: string, messages: readonly MessageDoc[]): boolean {
    const entry = this.users.get(userId);
    if (!entry) return false;
    if (!entry.loaded) return true;
    return messages.some((m) => entry.loaded?.get(m.conversation)?.writers.has(m.sender) !== true);
  }

  /**
   * Messages of a cached user's feed: their senders have written in their conversations. Returns
   * the contacts the user gains because a conversation became consented (its other side replied).
   */
  async messagesSeen(userId: string, messages: readonly MessageDoc[]): Promise<string[]> {
    const entry = this.users.get(userId);
    if (!entry) return [];
    const conversations = await entry.conversations;
    const gained: string[] = [];
    for (const m of messages) {
      const state = conversations.get(m.conversation);
      if (state && !state.writers.has(m.sender)) gained.push(...(await this.addWriters(userId, conversations, state, [m.sender])));
    }
    return gained;
  }

  /** Adds writers; when that makes the conversation consented, the contacts the user gains by it. */
  private async addWriters(
    userId: string,
    all: Map<string, Conversation>,
    state: Conversation,
    writers: readonly string[],
  ): Promise<string[]> {
    const before = consented(state);
    for (const w of writers) state.writers.add(w);
    if (before || !consented(state)) return [];
    const others = state.participants.filter((p) => p !== userId);
    const elsewhere = contactsIn(new Map([...all].filter(([, c]) => c !== state)), userId);
    const fresh = others.filter((p) => !elsewhere.has(p));
    if (fresh.length === 0) return [];
    const separated = await this.separatedFrom(userId);
    return fresh.filter((p) => !separated.has(p));
  }

  private async conversation(userId: string, conversationId: string): Promise<Conversation | null> {
    const cached = (await this.conversationsOf(userId)).get(conversationId);
    if (cached) return cached;
    const [doc] = await this.store.getDocs('conversations', [conversationId]);
    if (!doc?.participants.includes(userId)) return null;
    await this.learn(userId, doc);
    const learned = this.users.get(userId)?.loaded?.get(conversationId);
    if (learned) return learned;
    const writers = (await this.store.conversationWriters([doc])).get(doc.id) ?? [];
    return { participants: doc.participants, writers: new Set(writers) };
  }

  private separatedFrom(userId: string): Promise<Set<string>> {
    return this.separations ? this.separations.separatedFrom(userId) : Promise.resolve(new Set());
  }

  private conversationsOf(userId: string): Promise<Map<string, Conversation>> {
    return this.users.get(userId)?.conversations ?? this.load(userId);
  }

  private async load(userId: string): Promise<Map<string, Conversation>> {
    const list = await this.store.listConversations(userId);
    const writers = await this.store.conversationWriters(list);
    return new Map(list.map((c) => [c.id, { participants: [...c.participants], writers: new Set(writers.get(c.id) ?? []) }]));
  }
}

/** The other participants of the user's consented conversations. */
function contactsIn(conversations: ReadonlyMap<string, Conversation>, userId: string): Set<string> {
  const contacts = new Set<string>();
  for (const c of conversations.values()) if (consented(c)) for (const p of c.participants) if (p !== userId) contacts.add(p);
  return contacts;
}
