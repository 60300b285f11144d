import { type ConversationDoc, LIMITS, type MessageDoc } from '@fetchwork/shared-schema';
import MiniSearch, { type SearchResult } from 'minisearch';
import type { RxChangeEvent } from 'rxdb';
import { type Observable, Subject, type Subscription } from 'rxjs';
import type { InboxDatabase } from '../../db/collections';
import { otherParticipant } from '../views';
import { normalizeTerm, tokenize } from './terms';

interface IndexedMessage {
  id: string;
  content: string;
  /** The other participant's name, so "alice invoice" finds invoices from Alice. */
  peer: string;
  conversation: string;
  createdAt: string;
}

export interface RankedMatch {
  id: string;
  conversation: string;
  score: number;
  /** Normalised terms of the message that matched, for highlighting. */
  terms: Set<string>;
}

const INDEX_SLICE = 2000;

/**
 * Full-text index of the local replica's messages (minisearch, in memory). Built on first use
 * from IndexedDB, then kept current from the collection's change stream (this tab's writes,
 * replication writes and other tabs' writes alike), so searching never goes to the network.
 */
export class MessageSearch {
  private readonly index = new MiniSearch<IndexedMessage>({
    fields: ['content', 'peer'],
    storeFields: ['conversation', 'createdAt'],
    tokenize,
    processTerm: (term) => normalizeTerm(term) || null,
    searchOptions: {
      boost: { content: 2, peer: 1 },
      combineWith: 'AND',
      prefix: (_term, i, terms) => i === terms.length - 1,
      fuzzy: (term) => (term.length > 4 ? 0.2 : false),
      // Low weights keep an exact word above a prefix or typo match whatever the corpus: with
      // minisearch's defaults a rare longer word ("invoices") could outrank the word searched.
      weights: { fuzzy: 0.1, prefix: 0.15 },
    },
  });
  private readonly peers = new Map<string, string>();
  private ready: Promise<void> | null = null;
  private readonly subs: Subscription[] = [];
  private readonly changed = new Subject<void>();
  private closed = false;

  constructor(
    private readonly db: InboxDatabase,
    private readonly userId: string,
  ) {}

  /** Resolves when the index holds every message of the replica. */
  warmUp(): Promise<void> {
    this.ready ??= this.build();
    return this.ready;
  }

  async search(query: string, limit: number): Promise<RankedMatch[]> {
    const q = query.slice(0, LIMITS.searchQueryMaxLength).trim();
    if (!q) return [];
    await this.warmUp();
    const results = this.index.search(q) as (SearchResult & { conversation: string; createdAt: string })[];
    results.sort((a, b) => b.score - a.score || (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    return results
      .slice(0, limit)
      .map((r) => ({ id: String(r.id), conversation: r.conversation, score: r.score, terms: new Set(r.terms) }));
  }

  /** Emits after the index took in a change (any message or participant name; not debounced). */
  get changes$(): Observable<void> {
    return this.changed.asObservable();
  }

  get size(): number {
    return this.index.documentCount;
  }

  close(): void {
    this.closed = true;
    for (const s of this.subs) s.unsubscribe();
    this.changed.complete();
  }

  private async build(): Promise<void> {
    // Subscribe before loading so no change slips between the load and the subscription;
    // changes are applied after the load (add-or-replace makes the overlap harmless).
    const early: RxChangeEvent<MessageDoc>[] = [];
    let loaded = false;
    this.subs.push(
      this.db.messages.$.subscribe((ev) => {
        if (loaded) this.apply(ev);
        else early.push(ev);
      }),
    );
    const conversations = await this.db.conversations.find().exec();
    for (const c of conversations) this.peers.set(c.id, this.peerName(c.toJSON() as ConversationDoc));
    this.subs.push(this.db.conversations.$.subscribe((ev) => void this.onConversation(ev).catch(() => undefined)));

    // One read of the replica; indexing then goes in slices so a large replica does not
    // freeze the page.
    const all = await this.db.messages.find().exec();
    for (let i = 0; i < all.length; i += INDEX_SLICE) {
      if (this.closed) return;
      const slice = all.slice(i, i + INDEX_SLICE).map((d) => d.toJSON() as MessageDoc);
      this.index.addAll(slice.filter((m) => !m.isDeleted && !this.index.has(m.id)).map((m) => this.toIndexed(m)));
      await new Promise((r) => setTimeout(r, 0));
    }
    loaded = true;
    for (const ev of early) this.apply(ev);
  }

  private apply(ev: RxChangeEvent<MessageDoc>): void {
    const id = ev.documentId;
    const doc = ev.documentData as (MessageDoc & { _deleted?: boolean }) | undefined;
    const gone = ev.operation === 'DELETE' || !doc || doc._deleted || doc.isDeleted;
    if (gone) {
      if (this.index.has(id)) this.index.discard(id);
    } else {
      const indexed = this.toIndexed(doc);
      if (this.index.has(id)) this.index.replace(indexed);
      else this.index.add(indexed);
    }
    this.changed.next();
  }

  private async onConversation(ev: RxChangeEvent<ConversationDoc>): Promise<void> {
    const c = ev.documentData as ConversationDoc | undefined;
    if (!c || ev.operation === 'DELETE') return;
    const name = this.peerName(c);
    if (this.peers.get(c.id) === name) return;
    this.peers.set(c.id, name);
    const messages = await this.db.messages.find({ selector: { conversation: c.id } }).exec();
    for (const m of messages) if (this.index.has(m.id)) this.index.replace(this.toIndexed(m.toJSON() as MessageDoc));
    this.changed.next();
  }

  private peerName(c: ConversationDoc): string {
    return c.participantNames[otherParticipant(c, this.userId)] ?? '';
  }

  private toIndexed(m: MessageDoc): IndexedMessage {
    return {
      id: m.id,
      content: m.content,
      peer: this.peers.get(m.conversation) ?? '',
      conversation: m.conversation,
      createdAt: m.createdAt,
    };
  }
}
