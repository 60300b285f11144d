import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { ChangeBus, ChangeEvent } from './change-bus';

interface Envelope {
  from: string;
  event: ChangeEvent;
}

/**
 * Fans committed changes out to every instance through Redis pub/sub. The committing instance
 * dispatches to its own sockets at once (no round trip through Redis) and skips its own
 * envelope when it comes back. Delivery order across instances does not matter for correctness:
 * the stream dispatcher sends documents only to sockets positioned exactly before them and a
 * resync signal otherwise. A change lost with a dying instance is recovered the same way, by the
 * resync every client does after it reconnects.
 */
export class RedisChangeBus implements ChangeBus {
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  private readonly instanceId = randomUUID();

  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly channel: string,
    private readonly log: Logger,
  ) {}

  static async connect(pub: Redis, sub: Redis, log: Logger, channel = 'fetchwork:sync:changes'): Promise<RedisChangeBus> {
    const bus = new RedisChangeBus(pub, sub, channel, log);
    sub.on('message', (ch: string, raw: string) => {
      if (ch === channel) bus.receive(raw);
    });
    await sub.subscribe(channel);
    // Envelopes published while the subscriber was disconnected are gone: tell every socket here
    // to pull from its own checkpoint.
    sub.on('ready', () => {
      log.warn('redis change bus reconnected; asking local sockets to resync');
      bus.deliver({ feeds: [], resyncAll: true });
    });
    return bus;
  }

  private receive(raw: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch (err) {
      this.log.warn({ err }, 'unreadable change envelope from redis');
      return;
    }
    if (envelope.from === this.instanceId) return;
    this.deliver(envelope.event);
  }

  private deliver(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  publish(event: ChangeEvent): void {
    this.deliver(event);
    const envelope: Envelope = { from: this.instanceId, event };
    this.pub.publish(this.channel, JSON.stringify(envelope)).catch((err) => {
      this.log.error({ err }, 'publishing a change to redis failed; remote clients catch up on their next resync');
    });
  }

  subscribe(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.sub.unsubscribe(this.channel).catch(() => undefined);
  }
}
