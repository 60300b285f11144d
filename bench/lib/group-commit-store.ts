/**
 * EXPERIMENT, not product code: the SQLite store with group commit, to measure the fix proposed
 * in docs/performance.md. Commits that arrive in the same event-loop turn share one
 * `BEGIN IMMEDIATE` transaction; each keeps its own SAVEPOINT (better-sqlite3 nests transaction
 * functions that way), so one push losing its compare-and-set race rolls back alone and is
 * retried by SyncService as before. Sequences are still assigned inside the transaction, in
 * commit order, and each commit's feed positions are read after the previous one's writes.
 */
import type Database from 'better-sqlite3';
import type { CommitResult, WriteOp } from '../../sync-server/src/store/port';
import { SqliteStore, type SqliteStoreOptions } from '../../sync-server/src/store/sqlite-store';

interface Waiting {
  ops: readonly WriteOp[];
  resolve(r: CommitResult): void;
  reject(e: unknown): void;
}

export class GroupCommitSqliteStore extends SqliteStore {
  private waiting: Waiting[] = [];
  private scheduled = false;
  private readonly one: (ops: readonly WriteOp[]) => CommitResult;
  private readonly group: (batch: Waiting[]) => ({ ok: CommitResult } | { err: unknown })[];
  /** Transactions and commits so far (for the report). */
  readonly stats = { transactions: 0, commits: 0 };

  constructor(options: SqliteStoreOptions) {
    super(options);
    // The base class keeps these private; this experiment reaches in rather than copy them.
    const self = this as unknown as { db: Database.Database; applyOps(ops: readonly WriteOp[]): CommitResult };
    this.one = self.db.transaction((ops: readonly WriteOp[]) => self.applyOps(ops));
    const outer = self.db.transaction((batch: Waiting[]) =>
      batch.map((w) => {
        try {
          return { ok: this.one(w.ops) };
        } catch (err) {
          return { err };
        }
      }),
    );
    this.group = (batch) => outer.immediate(batch);
  }

  override commit(ops: readonly WriteOp[]): Promise<CommitResult> {
    if (ops.length === 0) return Promise.resolve({ docs: [], feeds: [] });
    return new Promise((resolve, reject) => {
      this.waiting.push({ ops, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush() {
    this.scheduled = false;
    const batch = this.waiting;
    this.waiting = [];
    let outcomes: ({ ok: CommitResult } | { err: unknown })[];
    try {
      outcomes = this.group(batch);
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    this.stats.transactions += 1;
    this.stats.commits += batch.length;
    batch.forEach((w, i) => {
      const o = outcomes[i]!;
      if ('ok' in o) w.resolve(o.ok);
      else w.reject(o.err);
    });
  }
}
