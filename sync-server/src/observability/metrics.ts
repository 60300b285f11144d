import { COLLECTIONS } from '@fetchwork/shared-schema';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Who may read `GET /metrics`: anyone (`open`, development and tests), nobody (`off`: the route
 * does not exist), or a scraper that sends `Authorization: Bearer <token>`.
 */
export type MetricsAccess = 'open' | 'off' | { token: string };

/** The figures an operator watches (docs/operations.md says what each means and what to alert on). */
export interface Metrics {
  registry: Registry;
  connectedSockets: Gauge;
  pulls: Counter<'collection'>;
  /** Recent-first reads: `sync:bootstrap`, `sync:history`, `sync:page`. */
  historyReads: Counter<'event' | 'collection'>;
  pushRows: Counter<'collection' | 'outcome'>;
  pushes: Counter<'collection'>;
  /** Seconds from receiving a push to handing its commit to the fan-out. */
  pushToBroadcast: Histogram<'collection'>;
  rateLimited: Counter<'scope'>;
}

export const PUSH_ROW_OUTCOMES = ['stored', 'noop', 'conflict', 'rejected'] as const;
export type PushRowOutcome = (typeof PUSH_ROW_OUTCOMES)[number];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fetchwork_' });
  const metrics: Metrics = {
    registry,
    connectedSockets: new Gauge({ name: 'fetchwork_connected_sockets', help: 'Sockets connected to this instance', registers: [registry] }),
    pulls: new Counter({
      name: 'fetchwork_pulls_total',
      help: 'sync:pull requests answered',
      labelNames: ['collection'],
      registers: [registry],
    }),
    historyReads: new Counter({
      name: 'fetchwork_history_reads_total',
      help: 'Recent-first reads answered: sync:bootstrap, sync:history, sync:page',
      labelNames: ['event', 'collection'],
      registers: [registry],
    }),
    pushes: new Counter({
      name: 'fetchwork_pushes_total',
      help: 'sync:push batches handled (socket and REST)',
      labelNames: ['collection'],
      registers: [registry],
    }),
    pushRows: new Counter({
      name: 'fetchwork_push_rows_total',
      help: 'Pushed rows by outcome: stored, noop, conflict, rejected',
      labelNames: ['collection', 'outcome'],
      registers: [registry],
    }),
    pushToBroadcast: new Histogram({
      name: 'fetchwork_push_to_broadcast_seconds',
      help: 'From receiving a push to handing its commit to the fan-out',
      labelNames: ['collection'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'fetchwork_rate_limited_total',
      help: 'Requests refused by a rate limit',
      labelNames: ['scope'],
      registers: [registry],
    }),
  };
  // Every outcome's series exists from the start (a rate over a series that appears later reads as
  // missing, not 0), so the push path counts only what happened.
  for (const collection of COLLECTIONS) {
    for (const outcome of PUSH_ROW_OUTCOMES) metrics.pushRows.inc({ collection, outcome }, 0);
  }
  return metrics;
}
