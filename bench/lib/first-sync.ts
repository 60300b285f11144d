/**
 * What a new device's first sync is measured by, the same in Node and in the bench page (no
 * Node-only imports): from createInbox until (a) the inbox is usable — the conversation list
 * holds all the user's conversations and the newest conversation shows its newest message — and
 * (b) the full history is stored: every message and conversation of the user is in the replica,
 * no history walk is open (history$() is null) and the replication is in sync.
 */
import { combineLatest, first, map } from 'rxjs';
import type { InboxHandle } from '../../client/src/inbox/create-inbox';

/** What the server holds for the user, from the seed (the check compares with it). */
export interface FirstSyncExpectation {
  /** The user's messages and conversations on the server. */
  messages: number;
  conversations: number;
  /** The conversation of the newest message, and that message. */
  newest: { conversationId: string; messageId: string };
  /** The least recently active conversation (bottom of the list), and its newest message. */
  oldest?: { conversationId: string; messageId: string };
}

export interface FirstSyncResult {
  /** createInbox → this tab replicates. */
  leaderMs: number;
  /** createInbox → usable inbox; null when not reached by the cap. */
  usableMs: number | null;
  /** Messages the newest conversation's pane showed at that moment (of PANE_MESSAGES). */
  paneMessages: number | null;
  /**
   * Once usable: opening the least recently active conversation (outside the bootstrap's
   * pages) until its pane shows a full page with its newest message, as the app's pane asks: from the replica,
   * and from the server (`loadOlderMessages`) when it holds less than a page while the walk
   * runs. Null when not measured or not reached by the cap.
   */
  openOldestMs: number | null;
  /** Messages that pane showed then (of PANE_MESSAGES). */
  openOldestMessages: number | null;
  /**
   * createInbox → history$() first non-null: a bootstrap has answered and recorded where its
   * walk starts (its documents are stored after that); null when none did.
   */
  bootstrapMs: number | null;
  /** history$() values seen while a walk was open (about one per stored page). */
  walkUpdates: number;
  /** createInbox → full history stored and in sync, or → the cap. */
  ms: number;
  /** Messages stored when it finished, or at the cap. */
  count: number;
  partial: boolean;
}

/** Messages the newest conversation shows, as the app's message pane asks for them. */
export const PANE_MESSAGES = 30;

/**
 * Watches `inbox` (opened at `t0`, performance.now()) until its full history is stored or
 * `capMs` after t0, then stops its replication. The caller closes it.
 */
export async function measureFirstSync(
  inbox: InboxHandle,
  t0: number,
  expected: FirstSyncExpectation,
  options: { capMs: number; screen: boolean },
): Promise<FirstSyncResult> {
  // Inserts as they happen: stopping a replication lets it finish its running cycle first, so a
  // count taken after stop() would include documents stored after the cap.
  let messages = 0;
  let conversations = 0;
  const counters = [
    inbox.database.messages.insert$.subscribe(() => {
      messages += 1;
    }),
    inbox.database.conversations.insert$.subscribe(() => {
      conversations += 1;
    }),
  ];
  let usableMs: number | null = null;
  let paneMessages: number | null = null;
  // The app's first screen: the conversation list and the newest conversation's pane, live
  // queries that re-run as documents arrive. With `screen` they stay open for the whole sync, as
  // in the app; without, they close once the inbox is usable (the storage path alone).
  const list$ = inbox.conversations$();
  const pane$ = inbox.messages$(expected.newest.conversationId, PANE_MESSAGES);
  const screen = combineLatest([list$, pane$]).subscribe();
  const usable = combineLatest([
    list$.pipe(map((list) => list.length >= expected.conversations)),
    pane$.pipe(map((pane) => (pane.some((m) => m.id === expected.newest.messageId) ? pane.length : 0))),
  ])
    .pipe(first(([list, pane]) => list && pane > 0))
    .subscribe({
      next: ([, pane]) => {
        usableMs = performance.now() - t0;
        paneMessages = pane;
        if (!options.screen) screen.unsubscribe();
        openOldest();
      },
      // Closing the database completes the queries: not usable by then is reported as null.
      error: () => undefined,
    });

  let openOldestMs: number | null = null;
  let openOldestMessages: number | null = null;
  let opened: { unsubscribe(): void } | null = null;
  const openOldest = () => {
    const oldest = expected.oldest;
    if (!oldest) return;
    const t1 = performance.now();
    let asked = false;
    opened = inbox.messages$(oldest.conversationId, PANE_MESSAGES).subscribe({
      next: (pane) => {
        // A full page with the newest message (every seeded conversation holds more than a page).
        if (openOldestMs === null && pane.length >= PANE_MESSAGES && pane.some((m) => m.id === oldest.messageId)) {
          openOldestMs = performance.now() - t1;
          openOldestMessages = pane.length;
          // Back to the list: one pane is open at a time in the app.
          queueMicrotask(() => opened?.unsubscribe());
        } else if (!asked && pane.length < PANE_MESSAGES) {
          asked = true;
          void inbox.loadOlderMessages(oldest.conversationId, PANE_MESSAGES).catch(() => undefined);
        }
      },
      error: () => undefined,
    });
  };

  let bootstrapMs: number | null = null;
  let walkUpdates = 0;
  let walkOpen = false;
  // history$() is null before the bootstrap, non-null while a walk has something left, and null
  // again once it is over — but also for a moment between the two collections' walks (the
  // conversations' walk can end before the messages' bootstrap has answered). So the end is
  // the stored counts reaching the server's, with no walk open.
  const progress = inbox.history$().subscribe((p) => {
    walkOpen = p !== null;
    if (p === null) return;
    bootstrapMs ??= performance.now() - t0;
    walkUpdates += 1;
  });
  const allStored = poll(() => !walkOpen && messages >= expected.messages && conversations >= expected.conversations);

  const engine = await inbox.whenLeader();
  const leaderMs = performance.now() - t0;
  const full = allStored.then(() => engine.awaitInSync());
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = await Promise.race([
    full.then(() => true),
    new Promise<false>((r) => {
      timer = setTimeout(() => r(false), Math.max(0, options.capMs - (performance.now() - t0)));
    }),
  ]);
  clearTimeout(timer);
  const ms = performance.now() - t0;
  const atCap = messages;
  allStored.cancel();
  progress.unsubscribe();
  usable.unsubscribe();
  (opened as { unsubscribe(): void } | null)?.unsubscribe();
  screen.unsubscribe();
  for (const c of counters) c.unsubscribe();
  await engine.stop();
  const count = done ? await inbox.database.messages.count().exec() : atCap;
  return { leaderMs, usableMs, paneMessages, openOldestMs, openOldestMessages, bootstrapMs, walkUpdates, ms, count, partial: !done };
}

/** Resolves once `ready()` holds (checked every 20 ms: cheaper than reacting to every insert). */
function poll(ready: () => boolean): Promise<void> & { cancel(): void } {
  let timer: ReturnType<typeof setInterval> | undefined;
  const p = new Promise<void>((resolve) => {
    timer = setInterval(() => {
      if (ready()) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
  });
  return Object.assign(p, { cancel: () => clearInterval(timer) });
}
