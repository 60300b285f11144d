import { jsonEqual, type Wire } from '@fetchwork/shared-schema';
import { getAssumedMasterState, type RxCollection } from 'rxdb';

/** How long a pushed document is watched for its echo (a no-op push has none). */
const WATCH_MS = 120_000;
/** Passes over an echo that cannot be repaired yet (an unpushed change, a racing write) before it is dropped. */
const MAX_TRIES = 5;

/** A document's replicated fields, as RxDB compares fork and assumed master (no _meta, _rev, _attachments). */
function docState(doc: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (k === '_deleted' || !k.startsWith('_')) out[k] = v;
  out._deleted ??= false;
  return out;
}

/**
 * After a push RxDB keeps the client's own copy as the assumed master, so the state the server
 * stored (seq, sentAt, the times it stamps) has to come back as an echo through the downstream.
 * RxDB's downstream skips a pulled or streamed document while the replica's copy differs from
 * the assumed master (an unpushed change, as far as it knows) and moves its checkpoint past it
 * all the same; a local write that races its write (a 409) drops it the same way. When the echo
 * of a push is processed before RxDB has recorded that push (a pull answered after the push was
 * committed but before its acknowledgement was handled, or RxDB's upstream resync, which reports
 * the upstream idle while it pushes), the echo is skipped for good and the replica keeps its own
 * copy: a message "pending" forever, receipts that never arrive. Found by the chaos harness
 * (chaos/, seed 2).
 *
 * The repair: remember the newest server state seen for each document this replica pushed; when
 * replication is idle, a replica copy that RxDB considers pushed (equal to its assumed master)
 * but that is older (lower seq) than that server state is replaced by it, exactly as the
 * downstream would have done. A copy with an unpushed change is left alone (RxDB's conflict
 * handling covers it). RxDB pushes the write back; the server answers it as a no-op (or with a
 * newer stored state to merge), which records the server state as the assumed master.
 */
export class EchoRepair<T extends { id: string; seq: number }> {
  private readonly pushed = new Map<string, number>();
  /** The newest server state seen per pushed document, with the repairs tried so far. */
  private readonly seen = new Map<string, { echo: Wire<T>; tries: number }>();

  constructor(
    private readonly collection: RxCollection<T>,
    /** RxDB's replication state (its internal one), once started. */
    private readonly replication: () => unknown,
  ) {}

  /** These documents are being pushed (their echo may arrive before the answer). */
  pushedIds(ids: readonly string[]): void {
    const now = Date.now();
    for (const id of ids) this.pushed.set(id, now);
  }

  /** Server states that came down (pull answers, streamed batches). */
  saw(docs: readonly Wire<T>[]): void {
    for (const d of docs) {
      if (!this.pushed.has(d.id)) continue;
      const prev = this.seen.get(d.id);
      if (!prev || prev.echo.seq < d.seq) this.seen.set(d.id, { echo: d, tries: 0 });
    }
  }

  /** Replaces skipped echoes; returns how many documents it repaired. */
  async repair(): Promise<number> {
    const now = Date.now();
    for (const [id, at] of this.pushed) if (now - at > WATCH_MS && !this.seen.has(id)) this.pushed.delete(id);
    const internal = this.replication();
    if (!internal || this.seen.size === 0) return 0;
    const entries = [...this.seen.values()];
    const done = (id: string) => {
      this.seen.delete(id);
      this.pushed.delete(id);
    };
    const docs = await this.collection.findByIds(entries.map((e) => e.echo.id)).exec();
    const stale = entries.filter(({ echo }) => {
      const doc = docs.get(echo.id);
      if (doc && (doc.toJSON() as unknown as T).seq < echo.seq) return true;
      done(echo.id);
      return false;
    });
    if (stale.length === 0) return 0;
    const assumed = await getAssumedMasterState(
      internal as Parameters<typeof getAssumedMasterState>[0],
      stale.map((e) => e.echo.id),
    );
    let repaired = 0;
    for (const entry of stale) {
      const { echo } = entry;
      const master = assumed[echo.id]?.docData;
      const doc = docs.get(echo.id)!;
      // An unpushed change (or a push RxDB has not recorded yet): RxDB's own conflict handling
      // covers the first, a later pass the second.
      if (!master || !jsonEqual(docState(doc.toJSON(true)), docState(master))) {
        if (++entry.tries >= MAX_TRIES) done(echo.id);
        continue;
      }
      const { _deleted: _d, ...server } = echo;
      try {
        // Compare-and-set against the revision checked above: a write that raced it wins, and
        // nothing is written when nothing changes (a no-op write could itself drop a pulled
        // state, as above).
        await doc.patch(server as unknown as Partial<T>);
        repaired++;
        done(echo.id);
      } catch {
        if (++entry.tries >= MAX_TRIES) done(echo.id);
      }
    }
    return repaired;
  }
}
