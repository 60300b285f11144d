import type { ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import { combineLatest, distinctUntilChanged, map, type Observable, of, shareReplay, switchMap } from 'rxjs';
import type { InboxDatabase } from '../db/collections';
import { docsByIds$ } from '../db/docs-by-ids';
import type { Failure, OutboxStore } from '../db/outbox-store';
import type { UnsentMessages } from '../db/unsent-messages';
import type { ConversationView, MessageView } from '../inbox-api';
import { mergeArrivals, sameItems } from './arrivals';
import { compareConversations, toConversationView, toMessageView } from './views';

type FailureMap = Map<string, Failure>;

const RECENT_MESSAGES = 200;

type RxDoc = { toJSON(): unknown };

/**
 * Reactive reads over the local replica; every number here is computed locally, so it is
 * right offline and in every tab (unread counts lean on the server's while the history is
 * still arriving). Shared observables are created once per inbox.
 */
export class InboxQueries {
  private readonly views = new WeakMap<RxDoc, { failure: Failure | undefined; acknowledged: boolean; view: MessageView }>();
  private readonly plainData = new WeakMap<RxDoc, unknown>();
  private readonly arrivalViews = new WeakMap<MessageDoc, { acknowledged: boolean; view: MessageView }>();
  readonly failures$: Observable<FailureMap>;
  /** Unread messages to the signed-in user, per conversation. */
  readonly unreadByConversation$: Observable<Map<string, number>>;
  readonly conversationViews$: Observable<ConversationView[]>;
  readonly totalUnread$: Observable<number>;
  /**
   * The signed-in user's messages with a write the server has not confirmed: new ones (seq 0,
   * unsent-messages.ts) unless refused, and edits and deletions (pending outbox entries):
   * ConnectionState's pendingWrites. Read receipts are writes to other people's messages and
   * are left out.
   */
  readonly unsentMessages$: Observable<number>;
  /**
   * The same messages by id (`pending`), and the user's new messages the server refused for good
   * (`refused`: never sent unless retried). What signing out would lose.
   */
  readonly unsentMessageIds$: Observable<{ pending: ReadonlySet<string>; refused: ReadonlySet<string> }>;

  constructor(
    private readonly db: InboxDatabase,
    private readonly userId: string,
    outbox: OutboxStore,
    unsent: UnsentMessages,
    fallbackName: (userId: string) => string,
    /** True while the history walk has not brought every older message (recent-first sync). */
    historyIncomplete$: Observable<boolean>,
    /** Messages this tab saw the server acknowledge (shown sent before the server's copy arrives). */
    private readonly acknowledged$: Observable<ReadonlySet<string>> = of(new Set<string>()),
    /** A conversation's messages shown before the replica stored them (arrivals.ts). */
    private readonly arrivals: (conversationId: string) => Observable<readonly MessageDoc[]> = () => of([]),
  ) {
    const share = <T>(o: Observable<T>) => o.pipe(shareReplay({ bufferSize: 1, refCount: true }));
    this.failures$ = share(outbox.failures$());
    // Counted on the replica, so right offline. While the history walk has not brought a
    // conversation's older messages, the server's count (kept on the conversation document)
    // also covers the unread ones not here yet; the larger of the two is shown until then.
    const localUnread$ = db.messages.find({ selector: { recipient: userId, isRead: false } }).$.pipe(
      map((docs) => {
        const counts = new Map<string, number>();
        for (const d of docs) if (!d.isDeleted) counts.set(d.conversation, (counts.get(d.conversation) ?? 0) + 1);
        return counts;
      }),
    );
    const conversations$ = share(db.conversations.find().$.pipe(map((docs) => docs.map((d) => this.plain<ConversationDoc>(d)))));
    this.unreadByConversation$ = share(
      historyIncomplete$.pipe(
        distinctUntilChanged(),
        switchMap((incomplete) =>
          incomplete
            ? combineLatest([localUnread$, conversations$]).pipe(
                map(([local, convs]) => {
                  const counts = new Map(local);
                  for (const c of convs) {
                    const server = c.unreadCount[userId] ?? 0;
                    if (server > (counts.get(c.id) ?? 0)) counts.set(c.id, server);
                  }
                  return counts;
                }),
              )
            : localUnread$,
        ),
      ),
    );
    this.totalUnread$ = share(
      this.unreadByConversation$.pipe(
        map((counts) => [...counts.values()].reduce((a, b) => a + b, 0)),
        distinctUntilChanged(),
      ),
    );
    const pendingChanges$ = outbox
      .pendingDocIds$('messages')
      .pipe(
        switchMap((ids) =>
          ids.length === 0
            ? of([] as string[])
            : docsByIds$(db.messages, ids).pipe(map((found) => [...found.values()].filter((d) => d.sender === userId).map((d) => d.id))),
        ),
      );
    this.unsentMessageIds$ = share(
      // A message the server acknowledged is sent, though its stored copy (seq > 0) may not be
      // back yet: the tick already says so, and signing out must not call it unsent.
      combineLatest([unsent.ids$, pendingChanges$, this.failures$, this.acknowledged$]).pipe(
        map(([fresh, changed, failures, acknowledged]) => ({
          pending: new Set([...fresh.filter((id) => !failures.has(id) && !acknowledged.has(id)), ...changed]),
          refused: new Set(fresh.filter((id) => failures.has(id))),
        })),
      ),
    );
    this.unsentMessages$ = share(
      this.unsentMessageIds$.pipe(
        map(({ pending }) => pending.size),
        distinctUntilChanged(),
      ),
    );

    // The last message of each conversation: the server's `lastMessage`, a newer message the
    // server has not accepted yet (unsent, or with an outbox entry), or one of the newest
    // messages of the replica (the conversation document replicates separately and may lag behind).
    const recentIds$ = db.messages
      .find({ sort: [{ createdAt: 'desc' }, { id: 'desc' }], limit: RECENT_MESSAGES })
      .$.pipe(map((docs) => docs.map((d) => d.id)));
    const lastMessages$ = combineLatest([conversations$, outbox.docIds$('messages'), unsent.ids$, recentIds$]).pipe(
      switchMap(([convs, localIds, unsentIds, recentIds]) => {
        const ids = [
          ...new Set([...convs.flatMap((c) => (c.lastMessage ? [c.lastMessage] : [])), ...localIds, ...unsentIds, ...recentIds]),
        ];
        return docsByIds$(db.messages, ids).pipe(
          map((found) => {
            const latest = new Map<string, { doc: RxDoc; data: MessageDoc }>();
            for (const doc of found.values()) {
              const m = this.plain<MessageDoc>(doc);
              const cur = latest.get(m.conversation)?.data;
              if (!cur || m.createdAt > cur.createdAt || (m.createdAt === cur.createdAt && m.id > cur.id))
                latest.set(m.conversation, { doc, data: m });
            }
            return { convs, latest };
          }),
        );
      }),
    );
    // A conversation whose document, unread count and last message did not change keeps its view
    // object, and a list in which no view changed is not emitted again: every message changes one
    // row, and the memoised rows (and the open pane) skip the rest.
    const conversationViews = new Map<
      string,
      { conversation: ConversationDoc; unread: number; last: MessageView | null; view: ConversationView }
    >();
    this.conversationViews$ = share(
      combineLatest([lastMessages$, this.unreadByConversation$, this.failures$, this.acknowledged$]).pipe(
        map(([{ convs, latest }, unread, failures, acknowledged]) => {
          const seen = new Set<string>();
          const views = convs.map((c) => {
            seen.add(c.id);
            const last = latest.get(c.id);
            const lastView = last ? this.view(last.doc, failures.get(last.data.id), acknowledged.has(last.data.id)) : null;
            const count = unread.get(c.id) ?? 0;
            const cached = conversationViews.get(c.id);
            if (cached && cached.conversation === c && cached.unread === count && cached.last === lastView) return cached.view;
            const view = toConversationView(c, userId, count, lastView, fallbackName);
            conversationViews.set(c.id, { conversation: c, unread: count, last: lastView, view });
            return view;
          });
          for (const id of conversationViews.keys()) if (!seen.has(id)) conversationViews.delete(id);
          return views.sort(compareConversations);
        }),
        distinctUntilChanged(sameItems),
      ),
    );
  }

  /** A document's plain data, copied once per stored revision (RxDB hands out one RxDocument per revision). */
  private plain<T>(doc: RxDoc): T {
    let data = this.plainData.get(doc);
    if (!data) {
      data = doc.toJSON();
      this.plainData.set(doc, data);
    }
    return data as T;
  }

  /** The newest `limit` messages, oldest first (sorted by server time once known). */
  messages$(conversationId: string, limit: number): Observable<MessageView[]> {
    const n = Math.max(1, Math.floor(limit));
    const query = this.db.messages.find({
      selector: { conversation: conversationId },
      sort: [{ createdAt: 'desc' }, { id: 'desc' }],
      limit: n,
    });
    return combineLatest([query.$, this.failures$, this.acknowledged$, this.arrivals(conversationId)]).pipe(
      map(([docs, failures, acknowledged, arriving]) => {
        const streamed = new Set<unknown>(arriving);
        return mergeArrivals(docs, arriving, n)
          .map((d) =>
            streamed.has(d)
              ? this.arrivalView(d as MessageDoc, acknowledged.has(d.id))
              : this.view(d as RxDoc, failures.get(d.id), acknowledged.has(d.id)),
          )
          .reverse();
      }),
      // An arrival leaving once the replica's copy is in the window changes nothing shown.
      distinctUntilChanged(sameItems),
    );
  }

  /** A message the replica has not stored yet: shown, and marked so nothing writes it before it is stored. */
  private arrivalView(doc: MessageDoc, acknowledged: boolean): MessageView {
    const cached = this.arrivalViews.get(doc);
    if (cached && cached.acknowledged === acknowledged) return cached.view;
    const view: MessageView = { ...toMessageView(doc, this.userId, undefined, acknowledged), arriving: true };
    this.arrivalViews.set(doc, { acknowledged, view });
    return view;
  }

  /**
   * One view object per stored revision (RxDB hands out one RxDocument per revision): a new
   * message re-renders its own bubble, not the whole window, and is not copied again.
   */
  private view(doc: RxDoc, failure: Failure | undefined, acknowledged: boolean): MessageView {
    const cached = this.views.get(doc);
    if (cached && cached.failure === failure && cached.acknowledged === acknowledged) return cached.view;
    const view = toMessageView(this.plain<MessageDoc>(doc), this.userId, failure, acknowledged);
    this.views.set(doc, { failure, acknowledged, view });
    return view;
  }
}
