import cors from 'cors';
import express from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { AccountService } from '../auth/account-service';
import { requireAuth } from '../auth/http-auth';
import type { Logger } from '../logger';
import type { MessagingService } from '../messaging/messaging-service';
import type { SyncStore } from '../store/port';
import { errorHandler } from './respond';
import { authRouter } from './routes/auth';
import { messagesRouter } from './routes/messages';

export interface AppDeps {
  log: Logger;
  store: SyncStore;
  messaging: MessagingService;
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
  app.use(express.json({ limit: '256kb' }));

  app.get('/health', async (_req, res) => {
    try {
      await deps.store.ping();
      res.json({ status: 'ok' });
    } catch {
      res.status(503).json({ status: 'error', store: 'unreachable' });
    }
  });
  app.use('/api/auth', authRouter(deps.accounts));
  app.use('/api/messages', requireAuth(deps.jwtSecret), messagesRouter(deps.messaging));
  app.use(errorHandler(deps.log));
  return app;
}
