import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LIMITS } from '@fetchwork/shared-schema';
import { Server } from 'socket.io';
import { AccountService } from './auth/account-service';
import { corsOrigin, createApp } from './http/app';
import type { Logger } from './logger';
import { MessagingService } from './messaging/messaging-service';
import { startStreamDispatcher } from './realtime/stream-dispatcher';
import { installSocketAuth } from './realtime/socket-auth';
import { createPresenceStore, type Presence, type PresenceOptions, startPresence } from './realtime/presence';
import { registerSyncHandlers } from './realtime/sync-handlers';
import type { SyncServer } from './realtime/types';
import type { SyncStore } from './store/port';
import { type ChangeBus, LocalChangeBus } from './sync/change-bus';
import { SyncService } from './sync/sync-service';

export interface SyncServerOptions {
  store: SyncStore;
  log: Logger;
  jwtSecret: string;
  corsOrigins: string[];
  port: number;
  host?: string;
  /** Defaults to the in-process bus (one instance). */
  bus?: ChangeBus;
  /** Shared state across instances; presence uses it unless `presence.store` is given. */
  redisUrl?: string;
  /** Grace period, typing expiry and throttle (tests shorten them), or a presence store. */
  presence?: PresenceOptions;
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
  presence: Presence;
  close(): Promise<void>;
}

/** Composes the services, the REST app and the Socket.io endpoint on one HTTP server, and listens. */
export async function startSyncServer(options: SyncServerOptions): Promise<RunningServer> {
  const { store, log } = options;
  const presenceStore = options.presence?.store ?? (await createPresenceStore(options.redisUrl));
  const bus = options.bus ?? new LocalChangeBus();
  const sync = new SyncService(store, bus, log);
  const messaging = new MessagingService(store, sync);
  const accounts = new AccountService(store, options.jwtSecret);
  const app = createApp({ log, store, messaging, accounts, jwtSecret: options.jwtSecret, corsOrigins: options.corsOrigins });
  const http = createHttpServer(app);
  const io: SyncServer = new Server(http, {
    cors: { origin: corsOrigin(options.corsOrigins), credentials: true },
    // A full push batch of maximum-size messages fits; anything larger is cut at the frame.
    maxHttpBufferSize: LIMITS.pushMaxRows * 8 * 1024,
    pingInterval: 10_000,
    pingTimeout: 5_000,
  });
  installSocketAuth(io, options.jwtSecret, store, log);
  io.on('connection', (socket) => registerSyncHandlers(socket, sync, log));
  const presence = startPresence(io, { presenceStore, store, bus, log }, options.presence);
  const stopDispatcher = startStreamDispatcher(io, bus);

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  log.info({ port }, 'sync server listening');

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      stopDispatcher();
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      http.closeAllConnections();
      await presence.close();
      await bus.close();
      await store.close();
    })();
    return closing;
  };
  return { url: `http://127.0.0.1:${port}`, port, http, io, store, sync, messaging, accounts, presence, close };
}
