import { getAssumedMasterState, getLastCheckpointDoc, removeRxDatabase, type RxStorage } from 'rxdb';
import { merge, type Subscription } from 'rxjs';
import { InboxCommandError } from '../../client/src/inbox/commands';
import { createInbox, type InboxHandle } from '../../client/src/inbox/create-inbox';
import type { SyncTuning } from '../../client/src/sync/collection-sync';
import { seededRandom } from '../fault-proxy';
import { hashDocs, plainDoc } from './canonical';
import type { Checkpoints, DeviceDigest, DeviceDump, DeviceRecord, DeviceSpec } from './types';

/** Client settings of the chaos devices: production defaults, with shorter waits so a run converges sooner. */
/**
 * Small bootstrap and history pages: a device that starts over walks its history in many steps,
 * so reloads, cuts and kills land in the middle of the walk.
 */
export const CHAOS_TUNING: Partial<SyncTuning> = {
  ackTimeoutMs: 8000,
  retryTimeMs: 1000,
  bootstrapMessagesPerConversation: 5,
  historyBatchSize: 20,
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One device of one user: its own replica (RxDB on Dexie over this process's fake IndexedDB,
 * opened through the real client's createInbox), its own socket through its own fault proxy,
 * and a seeded loop of user actions: send, edit, delete, mark read. It can be reloaded (the
 * database closed with whatever is pending, and opened again).
 */
export class ChaosDevice {
  inbox: InboxHandle | null = null;
  private readonly rng: () => number;
  private conversations: string[] = [];
  private running: Promise<void> | null = null;
  private stopped = false;
  /** While set, the loop waits: a reload is closing and reopening the database. */
  private gate: Promise<void> | null = null;
  private busy: Promise<void> = Promise.resolve();
  private editCounter = 0;
  readonly record: DeviceRecord;
  /** A timeline of what this device did and what its replication saw (written out when a run fails). */
  readonly events: string[] = [];
  private subs: Subscription[] = [];

  constructor(
    readonly spec: DeviceSpec,
    private readonly storage: RxStorage<any, any>,
  ) {
    this.rng = seededRandom(spec.seed);
    this.record = {
      label: spec.label,
      userId: spec.userId,
      sent: [],
      edits: {},
      deletes: [],
      reads: [],
      reloads: 0,
      actions: 0,
      errors: [],
    };
  }

  get databaseName(): string {
    return `chaos-${this.spec.label}-${this.spec.userId}`;
  }

  note(line: string): void {
    if (this.events.length < 200_000) this.events.push(`${new Date().toISOString()} ${line}`);
  }

  async open(): Promise<void> {
    const { spec } = this;
    this.note('open');
    this.inbox = await createInbox({
      user: { id: spec.userId, name: spec.userName },
      serverUrl: spec.serverUrl,
      getToken: () => spec.token,
      storage: this.storage,
      databaseName: this.databaseName,
      // Each device is its own browser here: the one tab leads and replicates.
      multiInstance: false,
      transports: ['websocket'],
      reconnectionDelayMs: 250,
      reconnectionDelayMaxMs: 2000,
      tuning: CHAOS_TUNING,
    });
    const socket = this.inbox.socket;
    const seqs = (docs: { seq: number }[]) => (docs.length === 0 ? '-' : `${docs.length}:${docs[0]!.seq}..${docs[docs.length - 1]!.seq}`);
    socket.on('connect', () => this.note('socket connect'));
    socket.on('disconnect', (reason) => this.note(`socket disconnect ${reason}`));
    socket.on('sync:stream', (e: any) =>
      this.note(`stream ${e.collection[0]} ${e.resync ? 'resync' : `${seqs(e.documents)} cp ${e.checkpoint.seq}`}`),
    );
    const engine = await this.inbox.whenLeader();
    for (const cs of [engine.messages, engine.conversations]) {
      const anyCs = cs as any;
      const pullOnce = anyCs.pullOnce.bind(cs);
      anyCs.pullOnce = async (cp: { seq: number } | null, n: number) => {
        this.note(`pull ${anyCs.o.name[0]} from ${cp?.seq ?? null}`);
        try {
          const r = await pullOnce(cp, n);
          this.note(`pulled ${anyCs.o.name[0]} ${seqs(r.documents)} cp ${r.checkpoint?.seq}`);
          return r;
        } catch (err) {
          this.note(`pull ${anyCs.o.name[0]} failed ${(err as Error).message}`);
          throw err;
        }
      };
    }
    for (const [name, sync] of [
      ['m', engine.messages],
      ['c', engine.conversations],
    ] as const) {
      const st = sync.state as any;
      this.subs.push(
        merge(st.received$, sync.writer.stored$).subscribe((d: any) =>
          this.note(
            `${name} recv ${d.id}@${d.seq}${name === 'm' ? ` r${+d.isRead}d${+(d.deliveredAt !== null)}x${+d.isDeleted} "${d.content}"` : ''}`,
          ),
        ),
        st.sent$.subscribe((d: any) =>
          this.note(
            `${name} sent ${d.id}@${d.seq}${name === 'm' ? ` r${+d.isRead}d${+(d.deliveredAt !== null)}x${+d.isDeleted} "${d.content}"` : ''}`,
          ),
        ),
        st.conflict$.subscribe((c: any) =>
          this.note(
            `${name} conflict ${c.input.realMasterState.id} master@${c.input.realMasterState.seq} -> out@${c.output.seq} "${c.output.content ?? ''}"`,
          ),
        ),
        st.error$.subscribe((e: any) => this.note(`${name} error ${String(e?.message ?? e).slice(0, 300)}`)),
      );
    }
    if (this.conversations.length === 0) {
      // Both sides create each conversation (same derived id), offline-first, concurrently.
      for (const peer of spec.peers) this.conversations.push(await this.inbox.createConversation(peer.id, null, peer.name));
    }
  }

  async close(): Promise<void> {
    const inbox = this.inbox;
    this.inbox = null;
    for (const s of this.subs.splice(0)) s.unsubscribe();
    if (inbox) this.note('close');
    await inbox?.close();
    if (inbox) this.note('closed');
  }

  /** The replica's full document (with RxDB's _meta and _rev) and RxDB's assumed master state for it. */
  async inspect(collection: 'messages' | 'conversations', id: string): Promise<unknown> {
    const engine = this.inbox?.sync();
    if (!engine) return null;
    const internal = (engine[collection].state as any).internalReplicationState;
    if (!internal) return null;
    const [fork] = await internal.input.forkInstance.findDocumentsById([id], true);
    const assumed = await getAssumedMasterState(internal, [id]);
    return { fork, assumed: assumed[id] ?? null, stats: internal.stats };
  }

  /** Runs the action loop until the message quota is sent or stop() is called. */
  start(): void {
    this.stopped = false;
    this.running ??= this.loop().finally(() => {
      this.running = null;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  get done(): boolean {
    return this.record.sent.length >= this.spec.messages;
  }

  private async loop(): Promise<void> {
    while (!this.stopped && !this.done) {
      await sleep(this.rng() * 2 * this.spec.meanPauseMs);
      while (this.gate) await this.gate;
      if (this.stopped || !this.inbox) continue;
      const act = this.act(this.inbox);
      this.busy = act.catch(() => undefined);
      await this.busy;
    }
  }

  /**
   * The user signs in on a new device: when this one has nothing unsent (deleting unsent writes
   * would be a loss the checks rightly count), its replica is deleted and it starts again from a
   * bootstrap and a history walk. Otherwise it is an ordinary reload. True when it started over.
   */
  async startOver(awayMs: number): Promise<boolean> {
    if (this.gate) return false;
    let release!: () => void;
    this.gate = new Promise<void>((r) => {
      release = r;
    });
    try {
      await this.busy;
      // The action loop is held: give what was just written a moment to reach the server.
      // Unsent is also a change RxDB has not pushed yet: a read mark takes no outbox entry.
      const unsent = (s: Awaited<ReturnType<ChaosDevice['localState']>>) =>
        s === null || s.outbox.length + s.unsent.length > 0 || !this.upstreamIdle();
      let state = await this.localState();
      for (let i = 0; i < 20 && unsent(state); i++) {
        await sleep(100);
        state = await this.localState();
      }
      const fresh = !unsent(state);
      await this.close();
      this.record.reloads++;
      if (fresh) {
        await removeRxDatabase(this.databaseName, this.storage);
        this.note('replica deleted: a new device');
      }
      await sleep(awayMs);
      await this.open();
      return fresh;
    } finally {
      this.gate = null;
      release();
    }
  }

  /** Closes the database (pending writes and all), stays away `awayMs`, opens it again. */
  async reload(awayMs: number): Promise<{ duringWalk: boolean }> {
    if (this.gate) return { duringWalk: false };
    let release!: () => void;
    this.gate = new Promise<void>((r) => {
      release = r;
    });
    try {
      await this.busy;
      const duringWalk = await this.walking();
      if (duringWalk) this.note('reload during the history walk');
      await this.close();
      this.record.reloads++;
      await sleep(awayMs);
      await this.open();
      return { duringWalk };
    } finally {
      this.gate = null;
      release();
    }
  }

  /** True while either collection's history walk has pages left to load. */
  private async walking(): Promise<boolean> {
    const db = this.inbox?.database;
    if (!db) return false;
    for (const collection of ['messages', 'conversations']) {
      const state = await db.getLocal<{ before: number | null }>(`history-${collection}`);
      if (state && state.toJSON().data.before !== null) return true;
    }
    return false;
  }

  private async act(inbox: InboxHandle): Promise<void> {
    const { mix } = this.spec;
    const total = mix.send + mix.edit + mix.delete + mix.read;
    const r = this.rng() * total;
    // Draw the secondary choice now, so the sequence of draws does not depend on what exists.
    const r2 = this.rng();
    const choose = <T>(items: readonly T[]) => (items.length === 0 ? undefined : items[Math.floor(r2 * items.length)]);
    this.record.actions++;
    try {
      if (r < mix.send) return await this.send(inbox, choose(this.conversations));
      if (r < mix.send + mix.edit) return await this.edit(inbox, choose(await this.ownMessages(inbox)));
      if (r < mix.send + mix.edit + mix.delete) return await this.remove(inbox, choose(await this.ownMessages(inbox)));
      return await this.read(inbox, choose(this.conversations));
    } catch (err) {
      // A command refused for a reason of the moment (the message was deleted on another
      // device meanwhile, say) is what a user would see; anything else is a finding.
      if (err instanceof InboxCommandError) return;
      const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      if (this.record.errors.length < 20) this.record.errors.push(text);
    }
  }

  private async send(inbox: InboxHandle, conversation: string | undefined): Promise<void> {
    if (!conversation || this.done) return;
    const content = `${this.spec.label}#${this.record.sent.length}`;
    const view = await inbox.sendMessage(conversation, content);
    this.note(`send ${view.id} "${content}"`);
    this.record.sent.push({ id: view.id, content, conversation });
  }

  private async ownMessages(inbox: InboxHandle): Promise<string[]> {
    const docs = await inbox.database.messages.find({ selector: { sender: this.spec.userId, isDeleted: false } }).exec();
    return docs.map((d) => d.id).sort();
  }

  private async edit(inbox: InboxHandle, id: string | undefined): Promise<void> {
    if (!id) return;
    this.editCounter++;
    const content = `edit ${this.spec.label}.${this.editCounter}`;
    await inbox.editMessage(id, content);
    this.note(`edit ${id} "${content}"`);
    const edits = this.record.edits[id] ?? [];
    edits.push(content);
    this.record.edits[id] = edits;
  }

  private async remove(inbox: InboxHandle, id: string | undefined): Promise<void> {
    if (!id) return;
    await inbox.deleteMessage(id);
    this.note(`delete ${id}`);
    this.record.deletes.push(id);
  }

  private async read(inbox: InboxHandle, conversation: string | undefined): Promise<void> {
    if (!conversation) return;
    const unread = await inbox.database.messages.find({ selector: { recipient: this.spec.userId, isRead: false, conversation } }).exec();
    const ids = unread.map((d) => d.id);
    if (ids.length === 0) return;
    await inbox.markRead(ids);
    this.note(`read ${ids.join(' ')}`);
    this.record.reads.push(...ids);
  }

  /** What the browser's `online` event does: connect now rather than after the backoff. */
  kick(): void {
    this.note('kick');
    this.inbox?.reconnect();
  }

  /** Both replications have pushed everything (false while this tab does not replicate). */
  private upstreamIdle(): boolean {
    const engine = this.inbox?.sync();
    return !!engine && engine.messages.upstreamIdle && engine.conversations.upstreamIdle;
  }

  private async localState() {
    const inbox = this.inbox;
    if (!inbox) return null;
    const [messages, conversations, outbox] = await Promise.all([
      inbox.database.messages.find().exec(),
      inbox.database.conversations.find().exec(),
      inbox.database.outbox.find().exec(),
    ]);
    const entries = outbox.map((d) => d.toJSON());
    const failed = new Set(entries.filter((e) => e.state === 'failed').map((e) => e.docId));
    return {
      messages: messages.map((d) => plainDoc(d.toJSON() as Record<string, unknown>)),
      conversations: conversations.map((d) => plainDoc(d.toJSON() as Record<string, unknown>)),
      outbox: entries,
      // New messages and conversations take no outbox entry: unsent is what the server has not
      // numbered yet (docs/client.md), unless it was refused for good.
      unsent: [...messages, ...conversations].filter((d) => d.seq === 0 && !failed.has(d.id)).map((d) => d.id),
    };
  }

  async digest(): Promise<DeviceDigest> {
    const state = await this.localState();
    return {
      label: this.spec.label,
      open: this.inbox !== null,
      connected: this.inbox?.socket.connected ?? false,
      pending: state ? state.outbox.filter((e) => e.state === 'pending').length + state.unsent.length : -1,
      failed: state?.outbox.filter((e) => e.state === 'failed').length ?? -1,
      messages: state?.messages.length ?? -1,
      conversations: state?.conversations.length ?? -1,
      messagesHash: state ? hashDocs(state.messages) : '',
      conversationsHash: state ? hashDocs(state.conversations) : '',
      sent: this.record.sent.length,
    };
  }

  /** RxDB's stored downstream checkpoints (read from its replication meta instance). */
  async checkpoints(): Promise<Checkpoints | null> {
    const inbox = this.inbox;
    const engine = inbox?.sync();
    if (!engine) return null;
    const read = async (state: any): Promise<number | null> => {
      const internal = state.internalReplicationState;
      if (!internal) return null;
      const cp = (await getLastCheckpointDoc(internal, 'down')) as { seq?: number } | undefined;
      return cp?.seq ?? null;
    };
    const walk = async (collection: 'messages' | 'conversations') => {
      const state = await inbox!.database.getLocal<{ before: number | null }>(`history-${collection}`);
      return (state?.toJSON().data.before as number | null | undefined) ?? null;
    };
    try {
      return {
        messages: await read(engine.messages.state),
        conversations: await read(engine.conversations.state),
        walkBefore: { messages: await walk('messages'), conversations: await walk('conversations') },
      };
    } catch (err) {
      // A reload closed the database while the probe read it: no reading this time.
      if (this.inbox !== inbox || inbox?.database.closed) return null;
      throw err;
    }
  }

  /** The seq each of these documents has in the replica (null when it is not there). */
  async localSeqs(collection: 'messages' | 'conversations', ids: string[]): Promise<Record<string, number | null> | null> {
    const inbox = this.inbox;
    if (!inbox) return null;
    let docs: Map<string, unknown>;
    try {
      docs = await (inbox.database[collection] as InboxHandle['database']['messages']).findByIds(ids).exec();
    } catch (err) {
      if (this.inbox !== inbox || inbox.database.closed) return null;
      throw err;
    }
    const out: Record<string, number | null> = {};
    for (const id of ids) out[id] = (docs.get(id) as { seq: number } | undefined)?.seq ?? null;
    return out;
  }

  async dump(): Promise<DeviceDump> {
    const state = await this.localState();
    if (!state) throw new Error(`${this.spec.label} is closed`);
    const checkpoints = (await this.checkpoints()) ?? { messages: null, conversations: null };
    return {
      label: this.spec.label,
      userId: this.spec.userId,
      messages: state.messages,
      conversations: state.conversations,
      checkpoints,
      failures: state.outbox.filter((e) => e.state === 'failed').map((e) => ({ docId: e.docId, code: e.code, message: e.message })),
      pending: [...state.outbox.filter((e) => e.state === 'pending').map((e) => e.id), ...state.unsent],
      record: this.record,
    };
  }
}
