import { BroadcastChannel, createLeaderElection, type LeaderElector } from 'broadcast-channel';
import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';

export interface TabLeadership {
  /** True while this tab is the one that replicates for the browser. */
  readonly isLeader$: Observable<boolean>;
  close(): Promise<void>;
}

/** A database only this tab opens (tests, or multiInstance off) needs no election. */
export const soleLeadership: TabLeadership = {
  isLeader$: new BehaviorSubject(true).asObservable(),
  close: () => Promise.resolve(),
};

/**
 * The election among this browser's tabs: broadcast-channel's leader election (a Web Lock where
 * the browser has them, messages elsewhere), which RxDB's leader-election plugin wraps. Not
 * RxDB's elector itself: RxDB keeps one per database, and die() ends it for good, while a tab
 * has to be able to stand again after it was frozen.
 *
 * A frozen tab runs no code. As the leader it would keep the lock and nobody would replicate
 * (the lock is only given up when the tab closes); waiting in the queue, it could be granted the
 * lock while frozen and hold it just the same. So every tab leaves the election on `freeze` (the
 * browser lets the page run that handler) and stands again on `resume`. A hidden tab is not
 * given up: it still runs its socket and replicates, and it may be the only tab there is.
 */
export class TabElection implements TabLeadership {
  private readonly leader = new BehaviorSubject(false);
  private round: { channel: BroadcastChannel; elector: LeaderElector } | null = null;
  private closed = false;

  constructor(
    private readonly channelName: string,
    /** Where `freeze` and `resume` are dispatched: `document` in a page. */
    private readonly lifecycle: EventTarget | null,
  ) {
    lifecycle?.addEventListener('freeze', this.onFreeze);
    lifecycle?.addEventListener('resume', this.onResume);
    this.stand();
  }

  get isLeader$(): Observable<boolean> {
    return this.leader.pipe(distinctUntilChanged());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lifecycle?.removeEventListener('freeze', this.onFreeze);
    this.lifecycle?.removeEventListener('resume', this.onResume);
    await this.leave();
    this.leader.complete();
  }

  private readonly onFreeze = () => {
    void this.leave();
  };

  private readonly onResume = () => {
    if (!this.closed && !this.round) this.stand();
  };

  /** A fresh elector on a fresh channel: a dead one cannot be revived. */
  private stand(): void {
    const channel = new BroadcastChannel(this.channelName);
    const round = { channel, elector: createLeaderElection(channel) };
    this.round = round;
    round.elector.awaitLeadership().then(
      () => {
        if (this.round === round) this.leader.next(true);
      },
      () => undefined,
    );
  }

  private async leave(): Promise<void> {
    const round = this.round;
    this.round = null;
    // First, and synchronously: replication must stop before another tab starts.
    this.leader.next(false);
    if (!round) return;
    // die() releases the lock (or leaves the queue) before its first await, so this is done
    // even when the page freezes right after the handler.
    await round.elector.die();
    await round.channel.close();
  }
}

/** One name per replica, the same in every tab of the browser. */
export function leaderChannelName(databaseName: string): string {
  return `fetchwork-leader|${databaseName}`;
}
