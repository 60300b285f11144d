import { isErrorBody } from '@fetchwork/shared-schema';
import { BehaviorSubject, distinctUntilChanged, type Observable, type Subscription } from 'rxjs';
import type { InboxBlocks } from '../inbox-api';

/** The server's routes (sync-server/src/http/routes/blocks.ts; docs/protocol.md, "Blocks"). */
export const BLOCK_ROUTES = {
  list: '/api/blocks',
  one: (userId: string) => `/api/blocks/${encodeURIComponent(userId)}`,
} as const;

/** One user the signed-in user blocked, as `GET /api/blocks` lists them. */
export interface BlockedUser {
  userId: string;
  /** ISO-8601, server time. */
  blockedAt: string;
}

/**
 * A block or unblock that did not happen: `NETWORK` when the server could not be reached or no
 * token was at hand, else the server's code (VALIDATION_FAILED, UNAUTHORIZED, …).
 */
export class BlockError extends Error {
  override name = 'BlockError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface BlocksOptions {
  serverUrl: string;
  getToken: () => string | null | Promise<string | null>;
  /** Emits after every successful handshake: the list is fetched again then. */
  connected$?: Observable<void>;
  fetch?: typeof fetch;
}

/**
 * Whom the signed-in user blocked, in memory only: the open-core build caps the replica's
 * collections, and the server is the one that enforces a block anyway. The list is fetched on
 * every connect; blocking and unblocking need the server (there is nothing to queue: a block
 * that is not on the server stops nothing). Other tabs and devices see a change on their next
 * connect.
 */
export class Blocks implements InboxBlocks {
  private readonly state = new BehaviorSubject<ReadonlySet<string> | null>(null);
  /** Null until the first list arrived: the UI must not claim "not blocked" before it knows. */
  readonly blocked$: Observable<ReadonlySet<string> | null> = this.state.pipe(distinctUntilChanged());
  private readonly base: string;
  private readonly doFetch: typeof fetch;
  private readonly sub: Subscription | null;
  /** Counts this tab's block/unblock answers, so a list fetched before one of them is not applied over it. */
  private changes = 0;

  constructor(private readonly o: BlocksOptions) {
    this.base = o.serverUrl.replace(/\/+$/, '');
    this.doFetch = o.fetch ?? ((...args) => fetch(...args));
    // A failed fetch keeps what is known; the next connect tries again.
    this.sub = o.connected$?.subscribe(() => void this.refresh().catch(() => undefined)) ?? null;
  }

  current(): ReadonlySet<string> | null {
    return this.state.value;
  }

  isBlocked(userId: string): boolean | null {
    return this.state.value ? this.state.value.has(userId) : null;
  }

  /** Fetches the list; a block or unblock answered meanwhile makes it fetch once more. */
  async refresh(): Promise<BlockedUser[]> {
    for (;;) {
      const before = this.changes;
      const res = await this.request('GET', BLOCK_ROUTES.list);
      const list = ((await res.json()) as { data: BlockedUser[] }).data;
      if (before !== this.changes) continue;
      this.state.next(new Set(list.map((b) => b.userId)));
      return list;
    }
  }

  async block(userId: string): Promise<void> {
    await this.request('POST', BLOCK_ROUTES.one(userId));
    await this.settle(userId, true);
  }

  async unblock(userId: string): Promise<void> {
    await this.request('DELETE', BLOCK_ROUTES.one(userId));
    await this.settle(userId, false);
  }

  close(): void {
    this.sub?.unsubscribe();
    this.state.complete();
  }

  private async settle(userId: string, blocked: boolean): Promise<void> {
    this.changes += 1;
    const known = this.state.value;
    if (!known) {
      // Only this one user would be known: a partial list would show everyone else as not blocked.
      await this.refresh().catch(() => undefined);
      return;
    }
    const next = new Set(known);
    if (blocked) next.add(userId);
    else next.delete(userId);
    this.state.next(next);
  }

  private async request(method: 'GET' | 'POST' | 'DELETE', path: string): Promise<Response> {
    const token = await this.o.getToken();
    if (!token) throw new BlockError('NETWORK', 'not signed in to the server right now');
    let res: Response;
    try {
      res = await this.doFetch(`${this.base}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    } catch {
      throw new BlockError('NETWORK', 'the server could not be reached');
    }
    if (res.ok) return res;
    const body: unknown = await res.json().catch(() => null);
    throw isErrorBody(body)
      ? new BlockError(body.error.code, body.error.message)
      : new BlockError(res.status >= 500 ? 'INTERNAL' : 'NETWORK', `the server answered ${res.status}`);
  }
}
