import { userIdSchema } from '@fetchwork/shared-schema';
import { Router } from 'express';
import { z } from 'zod';
import type { AccessTokens } from '../../auth/access-tokens';
import { currentUser, requireBearer } from '../../auth/http-auth';
import type { BlockService } from '../../blocks/block-service';
import { parse, route } from '../respond';

const params = z.object({ userId: userIdSchema }).strict();

/** Mounted at /api/blocks: POST/DELETE /:userId, GET / (docs/protocol.md, "Blocks"). */
export function blocksRouter(blocks: BlockService, access: AccessTokens): Router {
  const r = Router();
  r.use(requireBearer(access));

  r.get(
    '/',
    route(async (req, res) => {
      res.json({ data: await blocks.list(currentUser(req)) });
    }),
  );

  r.post(
    '/:userId',
    route(async (req, res) => {
      const { userId } = parse(params, req.params);
      await blocks.block(currentUser(req), userId);
      res.json({ data: { userId, blocked: true } });
    }),
  );

  r.delete(
    '/:userId',
    route(async (req, res) => {
      const { userId } = parse(params, req.params);
      await blocks.unblock(currentUser(req), userId);
      res.status(204).end();
    }),
  );

  return r;
}
