import type { FeedChange } from '../store/port';

/** What a commit tells the realtime layer: which users' feeds moved, from where, with what. */
export interface ChangeEvent {
  feeds: FeedChange[];
  /** Changes may have been missed (e.g. the bus reconnected): every socket should resync. */
  resyncAll?: boolean;
}

/**
 * Carries committed changes to the sockets. The local bus serves one instance; a cross-instance
 * bus (Redis) delivers the same events to every instance, including the one that committed.
 */
export interface ChangeBus {
  publish(event: ChangeEvent): void;
  subscribe(listener: (event: ChangeEvent) => void): () => void;
  close(): Promise<void>;
}

export class LocalChangeBus implements ChangeBus {
  private readonly listeners = new Set<(event: ChangeEvent) => void>();

  publish(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
