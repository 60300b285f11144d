import type { CollectionName, DocsByCollection, MessageDoc, Wire } from '@fetchwork/shared-schema';
import type { StoredText, SyncStore } from '../store/port';

/**
 * An answer's documents as the store keeps them: the JSON text each was written as (the SQLite
 * store writes a document's JSON once, at commit). The socket's encoder puts the texts into the
 * packet as they are (realtime/stored-json-parser.ts), so the wire carries exactly what parsing
 * and encoding them again would give, without doing it on the event loop: ~3–5 ms per 1,000
 * documents of a pull or a history page. Anything else that reads them as values gets them
 * parsed (`toJSON`).
 */
export class StoredDocuments<W> {
  /** Each document's wire JSON: its stored JSON with `"_deleted":false` (see toWire). */
  readonly wire: readonly string[];

  constructor(texts: readonly string[]) {
    this.wire = texts.map(wireText);
  }

  toJSON(): W[] {
    return this.wire.map((text) => JSON.parse(text) as W);
  }
}

/** A protocol answer as the server hands it to Socket.io: its documents parsed or as stored. */
export type Answer<R extends { documents: unknown[] }> = Omit<R, 'documents'> & {
  documents: R['documents'] | StoredDocuments<R['documents'][number]>;
};

/** An answer's documents, and what its cursors need of them: their sequences, in its order. */
export interface DocumentsRead<T> {
  documents: Wire<T>[] | StoredDocuments<Wire<T>>;
  seqs: readonly number[];
}

/**
 * The store's reads as answers send them: the stored text where the store keeps it
 * (`SyncStore.texts`), else its parsed documents.
 */
export function answerReads(store: SyncStore) {
  const texts = store.texts;
  return {
    async pullFeed<C extends CollectionName>(userId: string, collection: C, afterSeq: number, limit: number) {
      return texts
        ? fromTexts<DocsByCollection[C]>(await texts.pullFeed(userId, collection, afterSeq, limit))
        : fromDocs(await store.pullFeed(userId, collection, afterSeq, limit));
    },
    async feedBefore<C extends CollectionName>(userId: string, collection: C, beforeSeq: number, limit: number) {
      return texts
        ? fromTexts<DocsByCollection[C]>(await texts.feedBefore(userId, collection, beforeSeq, limit))
        : fromDocs(await store.feedBefore(userId, collection, beforeSeq, limit));
    },
    async newestMessages(conversationIds: readonly string[], perConversation: number, beforeSeq: number) {
      return texts
        ? fromTexts<MessageDoc>(await texts.newestMessages(conversationIds, perConversation, beforeSeq))
        : fromDocs(await store.newestMessages(conversationIds, perConversation, beforeSeq));
    },
  };
}

function fromTexts<T>(rows: readonly StoredText[]): DocumentsRead<T> {
  return { documents: new StoredDocuments<Wire<T>>(rows.map((r) => r.json)), seqs: rows.map((r) => r.seq) };
}

function fromDocs<T extends { seq: number }>(docs: readonly T[]): DocumentsRead<T> {
  return { documents: docs.map(toWire), seqs: docs.map((d) => d.seq) };
}

/** A stored document as the protocol sends it. */
export const toWire = <T>(doc: T): Wire<T> => ({ ...doc, _deleted: false });

/**
 * `{...}` → `{...,"_deleted":false}`, what `JSON.stringify({ ...doc, _deleted: false })` writes
 * for a document parsed from it. A stored document never holds `_deleted` (it is the wire's); one
 * that did would get its own value replaced, so it takes the parsed way.
 */
function wireText(json: string): string {
  if (json.includes('"_deleted"')) return JSON.stringify({ ...JSON.parse(json), _deleted: false });
  return `${json.slice(0, -1)},"_deleted":false}`;
}
