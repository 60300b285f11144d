import { errorBody } from '@fetchwork/shared-schema';
import cors from 'cors';
import express from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { AccountService } from '../auth/account-service';
import { requireAuth } from '../auth/http-auth';
import type { Logger } from '../logger';
import type { MessagingService } from '../messaging/messaging-service';
import type { Metrics } from '../observability/metrics';
import type { RateLimits } from '../realtime/rate-limits';
import { errorHandler } from './respond';
import { authRouter } from './routes/auth';
import { messagesRouter } from './routes/messages';

export interface AppDeps {
  log: Logger;
  messaging: MessagingService;
  metrics: Metrics;
  limits: RateLimits;
  /** Reachability probes reported by /health (store always; redis when configured). */
  health: Record<string, () => Promise<void>>;
  accounts: AccountService;
  jwtSecret: string;
  corsOrigins: string[];
}

export function corsOrigin(origins: string[]): cors.CorsOptions['origin'] {
  return origins.includes('*') ? true : origins;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // The API is called from another origin (the app on :3000 or a static host).
  app.use(helmet({ crossOriginResourcePolicy: { policy: 'cross-origin' } }));
  app.use(cors({ origin: corsOrigin(deps.corsOrigins), credentials: true }));
  app.use(
    pinoHttp({
      logger: deps.log,
      customProps: (req) => ({ userId: (req as express.Request).user?.id }),
      serializers: {
        req: (req) => ({ id: req.id, method: req.method, url: req.url }),
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
  app.use(express.json({ limit: '256kb' }));

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
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'error', checks });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
  app.use('/api/auth', authRouter(deps.accounts));
  app.use('/api/messages', requireAuth(deps.jwtSecret), messagesRouter(deps.messaging));
  app.use(errorHandler(deps.log));
  return app;
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  return Promise.race([work, new Promise<void>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}
