import {
  AUTH_REQUEST_HEADER,
  confirmBodySchema,
  loginBodySchema,
  type RegisterResponse,
  refreshBodySchema,
  registerBodySchema,
} from '@fetchwork/shared-schema';
import { type Request, type Response, Router } from 'express';
import type { AccessTokens } from '../../auth/access-tokens';
import type { AccountService } from '../../auth/account-service';
import { currentUser, requireBearer } from '../../auth/http-auth';
import { clearRefreshCookie, type RefreshCookieSettings, readRefreshCookie, setRefreshCookie } from '../../auth/sessions/refresh-cookie';
import type { IssuedSession, SessionService } from '../../auth/sessions/session-service';
import { AppError } from '../../errors';
import { parse, route } from '../respond';

export interface AuthRouteDeps {
  accounts: AccountService;
  /** Null in a FetchWork deployment: FetchWork signs users in, this server issues nothing. */
  sessions: SessionService | null;
  access: AccessTokens;
  cookie: RefreshCookieSettings;
}

/**
 * A request that the refresh cookie alone could authenticate must carry AUTH_REQUEST_HEADER: a
 * cross-site form cannot add a header, and a cross-origin script needs a preflight only
 * CLIENT_ORIGIN passes.
 */
function requireAuthHeader(req: Request): void {
  if (req.get(AUTH_REQUEST_HEADER) !== '1') throw new AppError('FORBIDDEN', `${AUTH_REQUEST_HEADER}: 1 is required`);
}

export function authRouter(deps: AuthRouteDeps): Router {
  const r = Router();
  const sessionsOn = (): SessionService => {
    if (!deps.sessions) throw new AppError('AUTH_DISABLED', 'this server does not sign users in: FetchWork does');
    return deps.sessions;
  };
  const answer = (res: Response, status: number, issued: IssuedSession) => {
    setRefreshCookie(res, deps.cookie, issued.refresh);
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).json({ data: issued.body });
  };

  const client = (req: Request) => ({ ip: req.ip ?? req.socket.remoteAddress ?? 'unknown' });
  // The same status and body whether or not the email has an account (and about the same time:
  // AccountService.register does the same work either way; the mail goes out after the answer).
  r.post(
    '/register',
    route(async (req, res) => {
      sessionsOn();
      // keepSignedIn is the confirming device's choice (confirm's body); accepted here for old clients.
      const { keepSignedIn: _ignored, ...input } = parse(registerBodySchema, req.body ?? {});
      await deps.accounts.register(input, client(req));
      const body: RegisterResponse = { status: 'confirmation_sent' };
      res.setHeader('Cache-Control', 'no-store');
      res.status(202).json({ data: body });
    }),
  );
  r.post(
    '/confirm',
    route(async (req, res) => {
      const sessions = sessionsOn();
      const { token, keepSignedIn } = parse(confirmBodySchema, req.body ?? {});
      const user = await deps.accounts.confirm(token, client(req));
      answer(res, 201, await sessions.start(user, keepSignedIn ?? false, req.get('user-agent') ?? null));
    }),
  );
  r.post(
    '/login',
    route(async (req, res) => {
      const sessions = sessionsOn();
      const { keepSignedIn, ...input } = parse(loginBodySchema, req.body ?? {});
      const user = await deps.accounts.login(input);
      answer(res, 200, await sessions.start(user, keepSignedIn ?? false, req.get('user-agent') ?? null));
    }),
  );
  r.post(
    '/refresh',
    route(async (req, res) => {
      const sessions = sessionsOn();
      requireAuthHeader(req);
      const { deviceKey } = parse(refreshBodySchema, req.body ?? {});
      try {
        answer(res, 200, await sessions.refresh(readRefreshCookie(req, deps.cookie), deviceKey));
      } catch (err) {
        // A credential that can never work again is not kept in the browser.
        if (err instanceof AppError && (err.code === 'SESSION_REVOKED' || err.code === 'UNAUTHORIZED'))
          clearRefreshCookie(res, deps.cookie);
        throw err;
      }
    }),
  );
  r.post(
    '/logout',
    route(async (req, res) => {
      const sessions = sessionsOn();
      requireAuthHeader(req);
      const { deviceKey } = parse(refreshBodySchema, req.body ?? {});
      await sessions.signOut(readRefreshCookie(req, deps.cookie), deviceKey);
      clearRefreshCookie(res, deps.cookie);
      // Downloads of this API origin (file content, thumbnails) may sit in the HTTP cache.
      res.setHeader('Clear-Site-Data', '"cache"');
      res.status(204).end();
    }),
  );
  r.post(
    '/logout-all',
    requireBearer(deps.access),
    route(async (req, res) => {
      await sessionsOn().signOutEverywhere(currentUser(req).id);
      clearRefreshCookie(res, deps.cookie);
      res.setHeader('Clear-Site-Data', '"cache"');
      res.status(204).end();
    }),
  );
  return r;
}
