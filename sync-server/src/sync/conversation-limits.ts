import type { ConversationDoc, ErrorCode } from '@fetchwork/shared-schema';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { SyncStore } from '../store/port';

export interface ConversationLimitOptions {
  /** New conversations one user may start per window (a burst may use them all at once). */
  perWindow: number;
  windowSeconds: number;
  /** Conversations with the same person that person never wrote in, beyond which no new one is started. */
  unansweredPerPair: number;
}

export const DEFAULT_CONVERSATION_LIMITS: ConversationLimitOptions = { perWindow: 20, windowSeconds: 600, unansweredPerPair: 5 };

export interface Refusal {
  code: ErrorCode;
  message: string;
}

/** Who may not reach whom (the block service). */
export interface Separations {
  separatedFrom(userId: string): Promise<Set<string>>;
}

/**
 * The one rule for starting conversations, applied to every new conversation a push would create
 * (the socket's `sync:push` and REST's create, which is a trusted push): nobody starts one with
 * someone they blocked or who blocked them (BLOCKED); nobody has more than `unansweredPerPair`
 * conversations with one person who never wrote in any of them (CONVERSATION_LIMIT, final until
 * they answer); and nobody starts more than `perWindow` per window (RATE_LIMITED, retryable).
 * Re-opening an existing conversation creates nothing and is never counted.
 *
 * The window is counted in this process's memory, like the other abuse limits (rate-limits.ts):
 * with N instances a user could reach N × the window, the pair rule holds everywhere (it reads the
 * store).
 */
export class ConversationLimits {
  private readonly window: RateLimiterMemory;

  constructor(
    private readonly store: SyncStore,
    private readonly separations: Separations | null,
    readonly options: ConversationLimitOptions = DEFAULT_CONVERSATION_LIMITS,
  ) {
    this.window = new RateLimiterMemory({ points: options.perWindow, duration: options.windowSeconds });
  }

  /**
   * Decides the creations of one push by `userId`, in order: null for each allowed one, else why
   * not. `charged` holds ids already counted against the window by an earlier attempt of the same
   * push (a compare-and-set retry decides again and must not pay twice).
   */
  async check(userId: string, created: readonly ConversationDoc[], charged: Set<string>): Promise<(Refusal | null)[]> {
    if (created.length === 0) return [];
    const separated = this.separations ? await this.separations.separatedFrom(userId) : new Set<string>();
    const others = new Set(created.flatMap((c) => c.participants.filter((p) => p !== userId)));
    const existing = (await this.store.listConversations(userId)).filter((c) => c.participants.some((p) => others.has(p)));
    const writers = await this.store.conversationWriters(existing);
    const unanswered = new Map<string, number>();
    for (const c of existing) {
      const other = c.participants.find((p) => p !== userId);
      if (other && !writers.get(c.id)?.includes(other)) unanswered.set(other, (unanswered.get(other) ?? 0) + 1);
    }
    const out: (Refusal | null)[] = [];
    for (const c of created) {
      const other = c.participants.find((p) => p !== userId) ?? userId;
      if (separated.has(other)) {
        out.push({ code: 'BLOCKED', message: 'you cannot start a conversation with this user' });
        continue;
      }
      const open = unanswered.get(other) ?? 0;
      if (open >= this.options.unansweredPerPair) {
        out.push({
          code: 'CONVERSATION_LIMIT',
          message: `at most ${this.options.unansweredPerPair} conversations with one person until they answer`,
        });
        continue;
      }
      if (!charged.has(c.id)) {
        if (!(await this.consume(userId))) {
          out.push({
            code: 'RATE_LIMITED',
            message: `at most ${this.options.perWindow} new conversations per ${this.options.windowSeconds} s`,
          });
          continue;
        }
        charged.add(c.id);
      }
      unanswered.set(other, open + 1);
      out.push(null);
    }
    return out;
  }

  private async consume(userId: string): Promise<boolean> {
    try {
      await this.window.consume(userId);
      return true;
    } catch (res) {
      if (res instanceof RateLimiterRes) return false;
      throw res;
    }
  }
}
