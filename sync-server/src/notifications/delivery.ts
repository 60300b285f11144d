import type { Logger } from '../logger';
import { topicFor } from './payload';
import type { PushMetrics } from './push-metrics';
import type { DeliveryResult, PushJob, PushQueueEvents } from './push-queue';
import type { PushSender } from './push-sender';
import type { PushRecordStore } from './records';

export interface DeliveryOptions {
  /** Keys the topics (see topicFor). */
  topicSecret: string;
  /** How long a push service keeps an undelivered push (a phone that is off). */
  ttlSeconds: number;
}

/** An endpoint is a bearer capability: logs name only its push service. */
export const endpointOrigin = (endpoint: string) => (URL.canParse(endpoint) ? new URL(endpoint).origin : 'invalid');

/** Sends one queued job and settles the subscription's record by what the push service said. */
export class PushDelivery implements PushQueueEvents {
  constructor(
    private readonly sender: PushSender,
    private readonly records: PushRecordStore,
    private readonly metrics: PushMetrics,
    private readonly log: Logger,
    private readonly options: DeliveryOptions,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async deliver(job: PushJob): Promise<DeliveryResult> {
    // Re-read: the subscription may have gone since (a sign-out handled by another instance), or
    // its browser may have re-subscribed with new keys.
    const current = await this.records.getSubscription(job.target.endpoint);
    if (!current || current.userId !== job.userId) return { kind: 'done' };
    const outcome = await this.sender.send(current, JSON.stringify(job.payload), {
      topic: topicFor(job.conversationId, this.options.topicSecret),
      ttlSeconds: this.options.ttlSeconds,
      urgency: 'high',
    });
    const service = endpointOrigin(current.endpoint);
    switch (outcome.kind) {
      case 'sent':
        this.metrics.pushes.inc({ outcome: 'sent' });
        await this.records.recordSuccess(current.endpoint, this.clock().toISOString());
        return { kind: 'done' };
      case 'gone':
        this.metrics.pushes.inc({ outcome: 'gone' });
        this.log.info({ service, status: outcome.status, userId: job.userId }, 'push subscription expired: removed');
        await this.records.removeSubscription(current.endpoint);
        return { kind: 'done' };
      case 'retry':
        this.metrics.pushes.inc({ outcome: 'retried' });
        this.log.debug({ service, status: outcome.status, reason: outcome.reason }, 'push will be retried');
        return { kind: 'retry', afterMs: outcome.retryAfterMs };
      case 'failed':
        this.metrics.pushes.inc({ outcome: 'failed' });
        this.log.warn({ service, status: outcome.status, reason: outcome.reason, userId: job.userId }, 'push refused');
        await this.records.recordFailure(current.endpoint);
        return { kind: 'done' };
    }
  }

  gaveUp(job: PushJob): void {
    this.metrics.pushes.inc({ outcome: 'gave_up' });
    this.log.warn({ service: endpointOrigin(job.target.endpoint), userId: job.userId }, 'push given up after retries');
    this.records.recordFailure(job.target.endpoint).catch((err) => this.log.error({ err }, 'could not record a push failure'));
  }

  private droppedSinceLog = 0;
  private lastDropLog = 0;

  dropped(job: PushJob, reason: 'user' | 'global' | 'closing'): void {
    this.metrics.pushes.inc({ outcome: 'dropped' });
    // A flood drops many at once: one line per 10 s says how many (closing logs its own count).
    if (reason === 'closing') return;
    this.droppedSinceLog++;
    const now = Date.now();
    if (now - this.lastDropLog >= 10_000) {
      this.log.warn({ reason, dropped: this.droppedSinceLog, userId: job.userId }, 'push queue over its bound: pushes dropped');
      this.droppedSinceLog = 0;
      this.lastDropLog = now;
    }
  }

  coalesced(): void {
    this.metrics.pushes.inc({ outcome: 'coalesced' });
  }
}
