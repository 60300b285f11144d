import {
  NOTIFICATION_ROUTES,
  notificationSettingsPatchSchema,
  pushSubscriptionBodySchema,
  pushUnsubscribeBodySchema,
} from '@fetchwork/shared-schema';
import { Router } from 'express';
import type { AccessTokens } from '../../auth/access-tokens';
import { currentUser, requireAuth } from '../../auth/http-auth';
import type { NotificationService } from '../../notifications/notification-service';
import { parse, route } from '../respond';

/** Mounted at the app's root: the paths are NOTIFICATION_ROUTES' own. */
export function notificationsRouter(notifications: NotificationService, access: AccessTokens): Router {
  const r = Router();
  const auth = requireAuth(access);

  // Public: a page asks for it before it may subscribe, and it is public by nature.
  r.get(
    NOTIFICATION_ROUTES.vapidPublicKey,
    route(async (_req, res) => {
      res.json({ data: { publicKey: notifications.publicKey() } });
    }),
  );

  r.post(
    NOTIFICATION_ROUTES.subscriptions,
    auth,
    route(async (req, res) => {
      const body = parse(pushSubscriptionBodySchema, req.body ?? {});
      res.status(201).json({ data: await notifications.subscribe(currentUser(req), body.subscription) });
    }),
  );

  r.delete(
    NOTIFICATION_ROUTES.subscriptions,
    auth,
    route(async (req, res) => {
      const body = parse(pushUnsubscribeBodySchema, req.body ?? {});
      await notifications.unsubscribe(currentUser(req), body.endpoint);
      res.status(204).end();
    }),
  );

  r.get(
    NOTIFICATION_ROUTES.settings,
    auth,
    route(async (req, res) => {
      res.json({ data: await notifications.settings(currentUser(req)) });
    }),
  );

  r.patch(
    NOTIFICATION_ROUTES.settings,
    auth,
    route(async (req, res) => {
      const patch = parse(notificationSettingsPatchSchema, req.body ?? {});
      res.json({ data: await notifications.updateSettings(currentUser(req), patch) });
    }),
  );

  return r;
}
