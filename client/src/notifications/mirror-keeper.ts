import type { ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import { distinctUntilChanged, type Observable, Subscription } from 'rxjs';
import type { MirroredMessage, OutboxMirror } from '../sw/outbox-mirror';

/** How old a mirror entry missing from the unsent set must be before the leader drops it unseen. */
const UNSEEN_GRACE_MS = 60_000;

/**
 * How long a message written while connected waits for the server before it is mirrored. Nearly
 * every one is answered within milliseconds and then never costs the mirror a write; until then
 * the replica holds it and the page pushes it. Leaving the page (hidden, closed, frozen) or the
 * connection mirrors whatever is still waiting at once.
 */
export const MIRROR_AFTER_MS = 2_000;

export interface MirrorKeeperDeps {
  /** The mirror database (null: background send is off here). */
  mirror: Promise<OutboxMirror | null>;
  userId: string;
  /** Whether this tab's socket is connected now, and its changes. */
  connected$: Observable<boolean>;
  /** The user's messages the server has not accepted (UnsentMessages.ids$). */
  unsentIds$: Observable<string[]>;
  isLeader$: Observable<boolean>;
  /** Emits when the page is being left: hidden, frozen or unloaded. */
  leaving$: Observable<unknown>;
  /** Tells the other tabs' keepers that this one wrote entries (the leader cleans them up); null in tests of one tab. */
  channel: Pick<BroadcastChannel, 'postMessage' | 'addEventListener' | 'removeEventListener' | 'close'> | null;
  /** Asks the browser for a Background Sync (the worker drains the mirror once online). */
  registerSync: () => Promise<void>;
  /** For tests: the clock of the delayed writes. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/**
 * Keeps the background-send mirror (sw/outbox-mirror.ts) for one tab: the user's unsent text
 * messages, for the service worker to send once every tab is closed.
 *
 * - A message written while offline is mirrored at once, with a Background Sync registration.
 * - One written while connected waits (MIRROR_AFTER_MS) and is mirrored only if the server has not
 *   accepted it by then, or the page or the connection is left first. Mirroring every message had
 *   cost four IndexedDB transactions per sent message (the write, the leader's two reads and its
 *   removal) for the rare one that is still unsent when the tabs close.
 * - The leader tab removes an entry once the replica says the server has the message (it leaves
 *   the unsent set) or it was discarded; an entry whose message this tab has not seen in that set
 *   is left for a minute (another tab's, whose change reaches this one a moment later). It reads
 *   the mirror only while the mirror may hold entries: at first, after its own writes, and after
 *   another tab's (told over `channel`).
 */
export class OutboxMirrorKeeper {
  /** Written while connected, not mirrored yet: id → entry. */
  private readonly waiting = new Map<string, MirroredMessage>();
  private timer: unknown = null;
  private unsent = new Set<string>();
  /** Every id seen in the unsent set: one that left it was accepted (or discarded). */
  private readonly seen = new Set<string>();
  private connected = false;
  private leader = false;
  /** Leader: whether the mirror may hold entries, and a count of the writes that said so. */
  private mayHold = true;
  private writes = 0;
  private cleaning: Promise<void> = Promise.resolve();
  private readonly subs = new Subscription();
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(private readonly d: MirrorKeeperDeps) {
    this.setTimer = d.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = d.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.subs.add(
      d.unsentIds$.subscribe((ids) => {
        this.unsent = new Set(ids);
        for (const id of ids) this.seen.add(id);
        for (const id of this.waiting.keys()) if (this.accepted(id)) this.waiting.delete(id);
        if (this.waiting.size === 0) this.stopTimer();
        this.clean();
      }),
    );
    this.subs.add(
      d.isLeader$.pipe(distinctUntilChanged()).subscribe((leads) => {
        this.leader = leads;
        if (!leads) return;
        this.mayHold = true;
        this.clean();
      }),
    );
    this.subs.add(
      d.connected$.pipe(distinctUntilChanged()).subscribe((connected) => {
        this.connected = connected;
        if (connected) return;
        this.flush();
        void d.mirror.then(async (m) => {
          if (m && (await m.all()).length > 0) await d.registerSync();
        });
      }),
    );
    this.subs.add(d.leaving$.subscribe(() => this.flush()));
    const onMessage = () => this.mayHoldAgain();
    d.channel?.addEventListener('message', onMessage);
    this.subs.add(() => d.channel?.removeEventListener('message', onMessage));
  }

  /** The user's new message, written by this tab. */
  inserted(doc: MessageDoc, conversation: ConversationDoc): void {
    if (doc.messageType !== 'text') return;
    const entry: MirroredMessage = {
      id: doc.id,
      conversationId: doc.conversation,
      participantId: conversation.participants.find((p) => p !== this.d.userId) ?? doc.recipient,
      jobId: conversation.job ?? null,
      content: doc.content,
      messageType: 'text',
      createdAt: doc.createdAt,
    };
    if (!this.connected) {
      this.write([entry]);
      return;
    }
    this.waiting.set(entry.id, entry);
    this.timer ??= this.setTimer(() => {
      this.timer = null;
      this.flush();
    }, MIRROR_AFTER_MS);
  }

  /** An edit or deletion of one of the user's messages: the mirror follows while it is unsent. */
  changed(doc: MessageDoc): void {
    const waiting = this.waiting.get(doc.id);
    if (waiting) {
      if (doc.isDeleted || doc.seq > 0) this.waiting.delete(doc.id);
      else this.waiting.set(doc.id, { ...waiting, content: doc.content });
      return;
    }
    // Possibly mirrored, by this tab or another: edits are rare, so the mirror is asked.
    void this.d.mirror.then((m) => {
      if (!m) return;
      return doc.isDeleted || doc.seq > 0 ? m.remove([doc.id]) : m.updateContent(doc.id, doc.content);
    });
  }

  /** Nothing more is mirrored (sign-out deletes the database: a late write would create it again). */
  close(): void {
    this.stopTimer();
    this.waiting.clear();
    this.subs.unsubscribe();
    this.d.channel?.close();
  }

  private accepted(id: string): boolean {
    return this.seen.has(id) && !this.unsent.has(id);
  }

  private stopTimer(): void {
    if (this.timer === null) return;
    this.clearTimer(this.timer);
    this.timer = null;
  }

  /** Mirrors what is still waiting and not accepted meanwhile. */
  private flush(): void {
    this.stopTimer();
    const entries = [...this.waiting.values()].filter((e) => !this.accepted(e.id));
    this.waiting.clear();
    if (entries.length > 0) this.write(entries);
  }

  private write(entries: readonly MirroredMessage[]): void {
    void this.d.mirror.then(async (m) => {
      if (!m) return;
      for (const e of entries) await m.put(e);
      this.mayHoldAgain();
      this.d.channel?.postMessage('written');
      if (!this.connected) await this.d.registerSync();
    });
  }

  /**
   * After a write has landed (this tab's, or another's it was told of): a clean-up that read the
   * mirror before it must not conclude that the mirror is empty, and the message may have been
   * accepted meanwhile.
   */
  private mayHoldAgain(): void {
    this.writes += 1;
    this.mayHold = true;
    this.clean();
  }

  /** Leader only, one at a time: removes the entries of messages the server has. */
  private clean(): void {
    if (!this.leader || !this.mayHold) return;
    this.cleaning = this.cleaning
      .then(async () => {
        if (!this.leader || !this.mayHold) return;
        const m = await this.d.mirror;
        if (!m) return;
        const writesBefore = this.writes;
        const entries = await m.all();
        const now = Date.now();
        const stale = entries
          .filter((e) => !this.unsent.has(e.id) && (this.seen.has(e.id) || now - Date.parse(e.createdAt) > UNSEEN_GRACE_MS))
          .map((e) => e.id);
        await m.remove(stale);
        // Empty now, and nobody wrote since it was read: nothing to read until someone writes.
        if (entries.length === stale.length && this.writes === writesBefore) this.mayHold = false;
      })
      .catch(() => undefined);
  }
}
