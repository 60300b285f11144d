import { LIMITS } from '@fetchwork/shared-schema';
import { request } from './request';
import type { ServerDocWriter } from './server-doc-writer';
import type { SyncSocket } from './socket';

export interface ConversationPagesOptions {
  socket: SyncSocket;
  writer: ServerDocWriter<'messages'>;
  ackTimeoutMs: number;
  signal: AbortSignal;
}

/**
 * A conversation's older messages on demand (scrolling up), straight from the server while the
 * history walk is elsewhere. Stored like the walk's pages, so they are there offline afterwards.
 */
export class ConversationPages {
  constructor(private readonly o: ConversationPagesOptions) {}

  /** Stores the page below `before` (the newest when null); resolves with the next cursor, null at the start. */
  async load(conversationId: string, before: number | null, limit: number): Promise<number | null> {
    const page = await request(
      this.o.socket,
      'sync:page',
      { conversationId, before, limit: Math.min(limit, LIMITS.pageMaxBatch) },
      this.o.ackTimeoutMs,
      this.o.signal,
    );
    await this.o.writer.write(page.documents);
    return page.before;
  }
}
