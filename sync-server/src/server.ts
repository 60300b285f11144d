import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AUTH_RENEW_GRACE_MS, LIMITS } from '@fetchwork/shared-schema';
import { Server } from 'socket.io';
import { AccessTokens } from './auth/access-tokens';
import { AccountService, type RegistrationLimits } from './auth/account-service';
import type { ScryptCost } from './auth/passwords';
import { DEFAULT_REFRESH_COOKIE, type RefreshCookieSettings } from './auth/sessions/refresh-cookie';
import { Revocations } from './auth/sessions/revocations';
import { DEFAULT_SESSION_LIFETIMES, type SessionLifetimes, SessionService } from './auth/sessions/session-service';
import { OWN_TOKEN_CLAIMS } from './auth/tokens';
import { BlockService } from './blocks/block-service';
import { type FilePolicy, FileService } from './files/file-service';
import { DEFAULT_FILE_POLICY } from './files/policy';
import { type FileScanner, noScanner } from './files/scanner';
import { LinkSigner } from './files/signed-links';
import type { FileStorage } from './files/storage/port';
import { corsOrigin, createApp } from './http/app';
import type { Logger } from './logger';
import { createLogMailer, type Mailer, MailQueue } from './mail';
import { MessagingService } from './messaging/messaging-service';
import { type NotificationService, type NotificationsOptions, startNotifications } from './notifications';
import { createMetrics, type Metrics, type MetricsAccess } from './observability/metrics';
import { historyHandlers } from './realtime/history-handlers';
import { InFlight } from './realtime/in-flight';
import { notificationHandlers } from './realtime/notification-handlers';
import { originCheck } from './realtime/origin-check';
import { OutboundBatch } from './realtime/outbound-batch';
import { createPresenceStore, type Presence, type PresenceOptions, startPresence } from './realtime/presence';
import { DEFAULT_RATE_LIMITS, type RateLimitOptions, RateLimits } from './realtime/rate-limits';
import { receiptHandlers } from './realtime/receipt-handlers';
import { type RedisWiring, wireRedis } from './realtime/redis-wiring';
import { installSessionRevocation, installSocketAuth } from './realtime/socket-auth';
import { installSocketLimits } from './realtime/socket-limits';
import { startStreamDispatcher } from './realtime/stream-dispatcher';
import { storedJsonParser } from './realtime/stored-json-parser';
import { attachHandlers } from './realtime/shared-handlers';
import { syncHandlers } from './realtime/sync-handlers';
import { type SyncServer, userRoom } from './realtime/types';
import type { SyncStore } from './store/port';
import { type ChangeBus, LocalChangeBus } from './sync/change-bus';
import { type ConversationLimitOptions, ConversationLimits, DEFAULT_CONVERSATION_LIMITS } from './sync/conversation-limits';
import { HistoryService } from './sync/history-service';
import { SyncService } from './sync/sync-service';
import { UserDirectory } from './users/user-directory';

export interface SyncServerOptions {
  store: SyncStore;
  log: Logger;
  jwtSecret: string;
  corsOrigins: string[];
  port: number;
  host?: string;
  /** Without it the process is one instance: in-process bus and Socket.io adapter, in-memory presence. */
  redisUrl?: string;
  /** Overrides the bus (tests); by default local, or Redis when redisUrl is set. */
  bus?: ChangeBus;
  /** Grace period, typing expiry and throttle (tests shorten them), or a presence store. */
  presence?: PresenceOptions;
  rateLimits?: Partial<RateLimitOptions>;
  /** New conversations per user per window and unanswered ones per pair (sync/conversation-limits.ts). */
  conversationLimits?: Partial<ConversationLimitOptions>;
  /** Express's `trust proxy` (see Config.trustProxy); default false. */
  trustProxy?: boolean | number | string;
  /** Files in messages; without it the server takes no uploads and refuses new attachments. */
  files?: FilesOptions;
  /** Web Push; without VAPID keys push is off (settings still work, /health says `push: 'off'`). */
  notifications?: NotificationsOptions;
  /** scrypt cost for new and upgraded password hashes; default DEFAULT_SCRYPT_COST (2^17). Tests pass less. */
  passwordHashing?: ScryptCost;
  /** Who may read /metrics; default `open` (main.ts passes the configured policy, see Config.metricsAccess). */
  metricsAccess?: MetricsAccess;
  /** Who signs users in; default standalone with DEFAULT_SESSION_LIFETIMES and DEFAULT_REFRESH_COOKIE. */
  auth?: AuthOptions;
  /** How long a socket whose token expired may take to renew it; default AUTH_RENEW_GRACE_MS (tests pass less). */
  authRenewGraceMs?: number;
  /**
   * Registration mail (confirmation links, notices): the transport and where links point
   * (`${appUrl}/#/confirm/<token>`). Default: the log mailer, links to the first CORS origin.
   * `mailer: null`: no mail, so no self-service registration (register answers AUTH_DISABLED).
   */
  mail?: { mailer?: Mailer | null; appUrl?: string };
  /** Per-email and per-IP registration limits; default DEFAULT_REGISTRATION_LIMITS. */
  registrationLimits?: RegistrationLimits;
}

/**
 * `standalone`: this server has accounts and issues short access tokens (its own issuer and
 * audience) with rotating refresh cookies. `fetchwork`: FetchWork signs users in with JWT_SECRET;
 * this server issues nothing and accepts FetchWork's tokens (issuer/audience checked when given).
 */
export type AuthOptions =
  | { mode: 'standalone'; lifetimes?: Partial<SessionLifetimes>; cookie?: Partial<RefreshCookieSettings> }
  | { mode: 'fetchwork'; issuer?: string; audience?: string };

export interface FilesOptions {
  storage: FileStorage;
  /** Default: none (every file passes; /health and the log say so). */
  scanner?: FileScanner;
  policy?: Partial<FilePolicy>;
  /** Where browsers reach this server; default http://127.0.0.1:<port>. */
  publicUrl?: string;
  /** How often expired uploads and unsent files are removed (default hourly; 0: never). */
  cleanupIntervalMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  http: HttpServer;
  io: SyncServer;
  store: SyncStore;
  sync: SyncService;
  messaging: MessagingService;
  accounts: AccountService;
  /** Registration mail on its way (tests await `mail.idle()`); null when registration is off. */
  mail: MailQueue | null;
  /** Null in a FetchWork deployment. */
  sessions: SessionService | null;
  access: AccessTokens;
  presence: Presence;
  metrics: Metrics;
  files: FileService | null;
  notifications: NotificationService;
  /** Graceful stop: refuse new work, finish in-flight pushes, close sockets so clients reconnect elsewhere. */
  close(): Promise<void>;
}

/** Composes the services, the REST app and the Socket.io endpoint on one HTTP server, and listens. */
export async function startSyncServer(options: SyncServerOptions): Promise<RunningServer> {
  const { store, log } = options;
  store.warmUp?.();
  const metrics = createMetrics();
  const limits = new RateLimits({ ...DEFAULT_RATE_LIMITS, ...options.rateLimits });
  const inFlight = new InFlight();
  const outbound = new OutboundBatch(log);
  const io: SyncServer = new Server({
    cors: { origin: corsOrigin(options.corsOrigins), credentials: true },
    allowRequest: originCheck(options.corsOrigins, log),
    // 200 rows of 8 KiB: a full batch of ordinary messages fits; anything larger is cut at the
    // frame. Rows can be far larger (long attachment URLs, escaped text): see docs/risks.md §11.
    maxHttpBufferSize: LIMITS.pushMaxRows * 8 * 1024,
    pingInterval: 10_000,
    pingTimeout: 5_000,
    // Pulls and history answers carry documents as stored, not encoded again (the same wire).
    parser: storedJsonParser,
  });
  const redis: RedisWiring | null = options.redisUrl ? await wireRedis(io, options.redisUrl, log) : null;
  const bus = options.bus ?? redis?.bus ?? new LocalChangeBus();
  const presenceStore = options.presence?.store ?? (await createPresenceStore(options.redisUrl));
  let port = options.port;
  const files = options.files
    ? createFileService(options.files, store, options.jwtSecret, log, () => options.files?.publicUrl ?? `http://127.0.0.1:${port}`)
    : null;
  const sync = new SyncService(store, bus, log, metrics, undefined, files);
  const users = new UserDirectory({ profiles: store.userProfiles(), feed: store, conversations: sync, log });
  sync.useParticipantNames(users);
  // Through the adapter: the user's sockets on every instance hear of it.
  const blocks = new BlockService(store.blockRecords(), undefined, (userId) => io.to(userRoom(userId)).emit('blocks:changed'));
  sync.useSeparations(blocks);
  sync.useConversationLimits(new ConversationLimits(store, blocks, { ...DEFAULT_CONVERSATION_LIMITS, ...options.conversationLimits }));
  const history = new HistoryService(store, metrics);
  const messaging = new MessagingService(store, sync, users);
  const notifications = await startNotifications(
    {
      store,
      records: store.pushRecords(),
      log,
      metrics,
      redisUrl: options.redisUrl,
      // Through the adapter: the user's sockets on every instance hear of it.
      emitSettings: (userId, settings) => io.to(userRoom(userId)).emit('notifications:settings', settings),
    },
    options.notifications,
  );
  // Only the committing instance is told, so several instances send one push per device.
  sync.onMessagesCommitted((user, written, before) => notifications.service.messagesCommitted(user, written, before));
  const mailer = options.mail?.mailer === null ? null : (options.mail?.mailer ?? createLogMailer(log));
  const mailQueue = mailer ? new MailQueue(mailer, log) : null;
  const appUrl = (options.mail?.appUrl ?? options.corsOrigins.find((o) => o !== '*') ?? 'http://localhost:3000').replace(/\/+$/, '');
  const accounts = new AccountService(store, {
    passwordCost: options.passwordHashing,
    log,
    mail: mailQueue ? { queue: mailQueue, appUrl } : undefined,
    registrationLimits: options.registrationLimits,
  });
  const auth = options.auth ?? { mode: 'standalone' };
  const lifetimes = { ...DEFAULT_SESSION_LIFETIMES, ...(auth.mode === 'standalone' ? auth.lifetimes : {}) };
  const refreshCookie = { ...DEFAULT_REFRESH_COOKIE, ...(auth.mode === 'standalone' ? auth.cookie : {}) };
  const access = new AccessTokens(
    auth.mode === 'standalone'
      ? { secret: options.jwtSecret, ...OWN_TOKEN_CLAIMS }
      : { secret: options.jwtSecret, issuer: auth.issuer, audience: auth.audience },
    new Revocations(lifetimes.accessTtlSeconds * 1000),
  );
  const sessions =
    auth.mode === 'standalone'
      ? new SessionService(store.sessionRecords(), store, access.revocations, options.jwtSecret, lifetimes, log)
      : null;
  await sessions?.loadRecentRevocations();
  const app = createApp({
    log,
    messaging,
    accounts,
    metrics,
    metricsAccess: options.metricsAccess,
    limits,
    access,
    sessions,
    refreshCookie,
    corsOrigins: options.corsOrigins,
    trustProxy: options.trustProxy ?? false,
    files,
    notifications: notifications.service,
    blocks,
    health: {
      store: () => store.ping(),
      ...(redis ? { redis: () => redis.ping() } : {}),
      ...(options.files ? { files: () => options.files!.storage.ping() } : {}),
      ...(options.files?.scanner ? { scanner: () => options.files!.scanner!.ping() } : {}),
    },
    healthDetails: {
      ...(options.files ? { fileStorage: options.files.storage.kind, fileScanner: options.files.scanner?.kind ?? 'none' } : {}),
      push: notifications.health,
    },
  });
  const http = createHttpServer(app);
  io.attach(http);
  installSocketAuth(io, access, log, {
    renewGraceMs: options.authRenewGraceMs ?? AUTH_RENEW_GRACE_MS,
    // Handshakes and renewals both carry the user's current name (a rename may come either way).
    identified: (user) => void users.note(user),
  });
  const stopRevocation = installSessionRevocation(io, access, redis !== null);
  // An ended session's devices get no more pushes (the subscriptions are in the shared store: the ending instance removes them).
  const stopPushCleanup = access.revocations.onLocalRevocation((ids) => {
    for (const id of ids)
      notifications.service
        .removeSubscriptionsForSession(id)
        .catch((err: unknown) => log.warn({ err }, 'could not remove the push subscriptions of an ended session'));
  });
  installSocketLimits(io, limits, metrics, log);
  const socketHandlers = [
    syncHandlers(sync, log, inFlight, outbound),
    historyHandlers(history, log, inFlight),
    receiptHandlers(messaging, log, inFlight),
    notificationHandlers(notifications.focus, log),
  ];
  io.on('connection', (socket) => {
    for (const handlers of socketHandlers) attachHandlers(socket, handlers);
  });
  const presence = startPresence(io, { presenceStore, store, bus, log, blocks }, options.presence);
  const stopDispatcher = startStreamDispatcher(io, bus, outbound);

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  port = (http.address() as AddressInfo).port;
  log.info({ port, redis: Boolean(redis) }, 'sync server listening');
  if (options.files && !options.files.scanner) log.warn('no virus scanner is configured (CLAMD_HOST): uploads are accepted unscanned');
  const cleanupMs = options.files?.cleanupIntervalMs ?? 60 * 60 * 1000;
  const cleanup =
    files && cleanupMs > 0
      ? setInterval(() => {
          files.cleanup().catch((err) => log.error({ err }, 'file cleanup failed'));
        }, cleanupMs).unref()
      : null;
  const sessionCleanup = sessions
    ? setInterval(
        () => {
          sessions.deleteEnded().catch((err) => log.error({ err }, 'session cleanup failed'));
          accounts.deleteExpiredRegistrations().catch((err) => log.error({ err }, 'pending registration cleanup failed'));
        },
        60 * 60 * 1000,
      ).unref()
    : null;

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      inFlight.draining = true;
      if (cleanup) clearInterval(cleanup);
      if (sessionCleanup) clearInterval(sessionCleanup);
      http.close();
      await inFlight.idle();
      // The last commit group is announced on the next tick; send it before the dispatcher stops.
      sync.flushFanout();
      stopDispatcher();
      stopRevocation();
      stopPushCleanup();
      outbound.release();
      // Closing the transport (not a server-side disconnect) makes clients reconnect on their own,
      // through the load balancer, to an instance that is still up.
      for (const socket of io.of('/').sockets.values()) socket.conn.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      http.closeAllConnections();
      await notifications.close();
      await presence.close();
      await bus.close();
      await redis?.close();
      await options.files?.storage.close();
      await mailQueue?.close();
      await store.close();
    })();
    return closing;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    http,
    io,
    store,
    sync,
    messaging,
    accounts,
    mail: mailQueue,
    sessions,
    access,
    presence,
    metrics,
    files,
    notifications: notifications.service,
    close,
  };
}

function createFileService(o: FilesOptions, store: SyncStore, jwtSecret: string, log: Logger, publicUrl: () => string): FileService {
  return new FileService({
    store,
    records: store.fileRecords(),
    storage: o.storage,
    scanner: o.scanner ?? noScanner,
    signer: new LinkSigner(jwtSecret),
    policy: { ...DEFAULT_FILE_POLICY, ...o.policy },
    publicUrl,
    log,
  });
}
