import type { NotificationSettings } from '@fetchwork/shared-schema';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import type { SyncStore } from '../store/port';
import { PushDelivery } from './delivery';
import { DEFAULT_ENDPOINT_POLICY, type EndpointPolicy } from './endpoint-policy';
import { FocusTracker } from './focus-tracker';
import { MemoryNotificationState } from './memory-state';
import { NotificationService } from './notification-service';
import { createPushMetrics } from './push-metrics';
import { DEFAULT_PUSH_QUEUE_OPTIONS, PushQueue, type PushQueueOptions } from './push-queue';
import { type PushSender, WebPushSender } from './push-sender';
import type { PushRecordStore } from './records';
import { RedisNotificationState } from './redis-state';
import type { NotificationState } from './state';
import type { VapidKeys } from './vapid';

export { NotificationService } from './notification-service';
export type { VapidKeys } from './vapid';

export interface NotificationsOptions {
  /** Null or absent: push is off (`/health` says so; the subscription routes answer PUSH_DISABLED). */
  vapid?: VapidKeys | null;
  /** Which endpoints the server POSTs to; default the known push services, https only. */
  endpoints?: EndpointPolicy;
  queue?: Partial<PushQueueOptions>;
  /** Default 20; a new subscription beyond it removes the user's oldest. */
  maxSubscriptionsPerUser?: number;
  /** How long a push service keeps an undelivered push; default one day. */
  ttlSeconds?: number;
  /** Redis key prefix of the shared focus state (tests isolate their runs with it). */
  redisPrefix?: string;
  /** Overrides the shared state (default: Redis with a Redis URL, else in memory). */
  state?: NotificationState;
  /** Overrides how pushes are sent (default: web-push with the VAPID keys). */
  sender?: PushSender;
}

export interface Notifications {
  service: NotificationService;
  focus: FocusTracker;
  /** `push` in /health. */
  health: 'off' | 'vapid';
  close(): Promise<void>;
}

export async function startNotifications(
  deps: {
    store: SyncStore;
    records: PushRecordStore;
    log: Logger;
    metrics: Metrics;
    redisUrl?: string;
    emitSettings(userId: string, settings: NotificationSettings): void;
  },
  options: NotificationsOptions = {},
): Promise<Notifications> {
  const { log } = deps;
  const vapid = options.vapid ?? null;
  const state =
    options.state ??
    (vapid && deps.redisUrl
      ? await RedisNotificationState.connect(deps.redisUrl, { prefix: options.redisPrefix })
      : new MemoryNotificationState());
  let push: ConstructorParameters<typeof NotificationService>[0]['push'] = null;
  if (vapid) {
    let queue: PushQueue | null = null;
    const metrics = createPushMetrics(deps.metrics.registry, () => queue?.stats() ?? { pending: 0, inFlight: 0 });
    const delivery = new PushDelivery(options.sender ?? new WebPushSender(vapid), deps.records, metrics, log, {
      // The private key never leaves the server, so topics keyed with it say nothing to a push service.
      topicSecret: vapid.privateKey,
      ttlSeconds: options.ttlSeconds ?? 24 * 60 * 60,
    });
    queue = new PushQueue(delivery, log, { ...DEFAULT_PUSH_QUEUE_OPTIONS, ...options.queue });
    push = { publicKey: vapid.publicKey, queue, metrics };
  }
  const service = new NotificationService({
    store: deps.store,
    records: deps.records,
    state,
    push,
    endpointPolicy: options.endpoints ?? DEFAULT_ENDPOINT_POLICY,
    emitSettings: deps.emitSettings,
    log,
    maxSubscriptionsPerUser: options.maxSubscriptionsPerUser ?? 20,
  });
  const focus = new FocusTracker(state, log);
  if (vapid) log.info({ sharedFocus: state instanceof RedisNotificationState }, 'Web Push is on');
  else log.info('Web Push is off: set VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT to send notifications');
  return {
    service,
    focus,
    health: vapid ? 'vapid' : 'off',
    async close() {
      focus.close();
      await service.close();
      if (!options.state) await state.close();
    },
  };
}
