import { Counter, Gauge, type Registry } from 'prom-client';

export type PushOutcomeLabel = 'sent' | 'gone' | 'retried' | 'failed' | 'gave_up' | 'dropped' | 'coalesced';

export interface PushMetrics {
  pushes: Counter<'outcome'>;
}

/** Web Push figures, registered beside the server's own (docs/operations.md lists them). */
export function createPushMetrics(registry: Registry, queueDepth: () => { pending: number; inFlight: number }): PushMetrics {
  new Gauge({
    name: 'fetchwork_web_push_queue_depth',
    help: 'Web Push jobs waiting (pending) or being sent (in_flight) on this instance',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const { pending, inFlight } = queueDepth();
      this.set({ state: 'pending' }, pending);
      this.set({ state: 'in_flight' }, inFlight);
    },
  });
  return {
    pushes: new Counter({
      name: 'fetchwork_web_push_total',
      help: 'Web Push jobs by outcome: sent, gone (subscription removed), retried, failed, gave_up, dropped (over a bound), coalesced',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
}
