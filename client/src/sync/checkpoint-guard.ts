import type { Checkpoint } from '@fetchwork/shared-schema';

/**
 * The server streams documents to a socket only when they continue exactly from the position
 * it believes that socket holds (the last pull answer or stream it sent). A pull whose answer
 * never reached RxDB (ack timeout, replication stopped) may still have moved that position, so
 * until the next pull answer is handed to RxDB every streamed batch is turned into a resync.
 * The client never makes up a checkpoint; it only ever passes on the server's.
 */
export class CheckpointGuard {
  private uncertain = false;

  /** A pull was sent and its answer will not be used. */
  pullLost(): void {
    this.uncertain = true;
  }

  /** A pull answer is being handed to RxDB: the server's cursor equals RxDB's again. */
  pullApplied(): void {
    this.uncertain = false;
  }

  canApplyStream(): boolean {
    return !this.uncertain;
  }
}

export type { Checkpoint };
