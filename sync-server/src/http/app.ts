import { isUtf8 } from 'node:buffer';
import { errorBody } from '@fetchwork/shared-schema';
import cors from 'cors';
import express from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { AccessTokens } from '../auth/access-tokens';
import type { AccountService } from '../auth/account-service';
import { requireAuth, requireStaticToken } from '../auth/http-auth';
import type { RefreshCookieSettings } from '../auth/sessions/refresh-cookie';
import type { SessionService } from '../auth/sessions/session-service';
import type { BlockService } from '../blocks/block-service';
import type { FileService } from '../files/file-service';
import type { Logger } from '../logger';
import type { MessagingService } from '../messaging/messaging-service';
import type { NotificationService } from '../notifications/notification-service';
import type { Metrics, MetricsAccess } from '../observability/metrics';
import type { RateLimits } from '../realtime/rate-limits';
import { errorHandler } from './respond';
import { authRouter } from './routes/auth';
import { blocksRouter } from './routes/blocks';
import { filesRouter } from './routes/files';
import { messagesRouter } from './routes/messages';
import { notificationsRouter } from './routes/notifications';

export interface AppDeps {
  log: Logger;
  messaging: MessagingService;
  metrics: Metrics;
  /** Who may read /metrics (default open: tests and embedding; main.ts passes the configured policy). */
  metricsAccess?: MetricsAccess;
  limits: RateLimits;
  /** Reachability probes reported by /health (store always; redis when configured). */
  health: Record<string, () => Promise<void>>;
  /** Facts /health states beside its probes (which file storage, which scanner). */
  healthDetails?: Record<string, string>;
  /** Files in messages (null: no /api/files). */
  files?: FileService | null;
  /** Web Push subscriptions and settings (absent: no /api/notifications). */
  notifications?: NotificationService;
  accounts: AccountService;
  /** Blocks between users (absent: no /api/blocks). */
  blocks?: BlockService;
  access: AccessTokens;
  /** Null in a FetchWork deployment (the auth routes answer AUTH_DISABLED). */
  sessions: SessionService | null;
  refreshCookie: RefreshCookieSettings;
  corsOrigins: string[];
  /** Express's `trust proxy`: whose X-Forwarded-For is believed (the per-IP limit keys on req.ip). */
  trustProxy?: boolean | number | string;
}

/**
 * How long a browser may reuse a preflight's answer (Chromium caps it at 2 h, and uses 5 s when
 * none is given). Every tus PATCH and every JSON request with a bearer token is preflighted, so
 * without it an upload on a slow link paid one extra round trip per chunk.
 */
export const CORS_PREFLIGHT_MAX_AGE_S = 600;

export function corsOrigin(origins: string[]): cors.CorsOptions['origin'] {
  return origins.includes('*') ? true : origins;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', deps.trustProxy ?? false);
  // The API is called from another origin (the app on :3000 or a static host).
  app.use(helmet({ crossOriginResourcePolicy: { policy: 'cross-origin' } }));
  app.use(cors({ origin: corsOrigin(deps.corsOrigins), credentials: true, maxAge: CORS_PREFLIGHT_MAX_AGE_S }));
  app.use(
    pinoHttp({
      logger: deps.log,
      customProps: (req) => ({ userId: (req as express.Request).user?.id }),
      serializers: {
        // The path only: a query string can carry message text (`/search?q=`), which logs never hold.
        req: (req) => ({ id: req.id, method: req.method, url: String(req.url ?? '').split('?')[0] }),
        res: (res) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(async (req, res, next) => {
    const wait = await deps.limits.httpRetryAfter(req.ip ?? 'unknown');
    if (wait === 0) return next();
    deps.metrics.rateLimited.inc({ scope: 'http' });
    res.setHeader('Retry-After', String(wait));
    res.status(429).json(errorBody('RATE_LIMITED', 'too many requests; slow down'));
  });
  app.use(express.json({ limit: '256kb', verify: requireUtf8 }));

  app.get('/health', async (_req, res) => {
    const checks = Object.fromEntries(
      await Promise.all(
        Object.entries(deps.health).map(async ([name, probe]) => {
          try {
            await withTimeout(probe(), 2000);
            return [name, 'ok'] as const;
          } catch {
            return [name, 'unreachable'] as const;
          }
        }),
      ),
    );
    const ok = Object.values(checks).every((c) => c === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'error', checks, ...deps.healthDetails });
  });
  // Metrics tell anyone the load, the sockets open and the abuse seen: `off` leaves the route out
  // (a JSON 404 below), a token admits the scraper only.
  const metricsAccess = deps.metricsAccess ?? 'open';
  if (metricsAccess !== 'off') {
    const guard = typeof metricsAccess === 'object' ? [requireStaticToken(metricsAccess.token, 'metrics')] : [];
    app.get('/metrics', ...guard, async (_req, res) => {
      res.setHeader('Content-Type', deps.metrics.registry.contentType);
      res.send(await deps.metrics.registry.metrics());
    });
  }
  app.use('/api/auth', authRouter({ accounts: deps.accounts, sessions: deps.sessions, access: deps.access, cookie: deps.refreshCookie }));
  app.use('/api/messages', requireAuth(deps.access), messagesRouter(deps.messaging));
  if (deps.blocks) app.use('/api/blocks', blocksRouter(deps.blocks, deps.access));
  if (deps.notifications) app.use(notificationsRouter(deps.notifications, deps.access));
  if (deps.files) app.use('/api/files', filesRouter(deps.files, { access: deps.access, corsOrigins: deps.corsOrigins, log: deps.log }));
  // Express's own 404 is an HTML page; every answer of this API is JSON.
  app.use((_req, res) => {
    res.status(404).json(errorBody('NOT_FOUND', 'no such route'));
  });
  app.use(errorHandler(deps.log));
  return app;
}

/**
 * JSON must be UTF-8 (RFC 8259). Without this check the decoder would turn invalid bytes into
 * U+FFFD and store text the client never sent.
 */
function requireUtf8(_req: unknown, _res: unknown, body: Buffer, encoding: string): void {
  if (encoding.toLowerCase() === 'utf-8' && !isUtf8(body)) {
    throw Object.assign(new Error('request body is not valid UTF-8'), { status: 400, type: 'encoding.invalid' });
  }
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  return Promise.race([work, new Promise<void>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}
