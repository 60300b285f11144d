import { errorBody, FILE_ROUTES, fileIdSchema, fileLinkRequestSchema, messageIdSchema } from '@fetchwork/shared-schema';
import { EVENTS, Server as TusServer } from '@tus/server';
import { create as contentDisposition } from 'content-disposition';
import { type NextFunction, type Request, type Response, Router } from 'express';
import { z } from 'zod';
import type { AccessTokens } from '../../auth/access-tokens';
import { currentUser, requireBearer } from '../../auth/http-auth';
import type { AuthUser } from '../../auth/tokens';
import { AppError } from '../../errors';
import type { FileService } from '../../files/file-service';
import type { Logger } from '../../logger';
import { parse, route } from '../respond';

const messageQuery = z.object({ message: messageIdSchema.optional() });

/** tus hooks see srvx's request; the Express request it wraps carries the user. */
function userOf(req: { runtime?: { node?: { req?: unknown } } }): AuthUser {
  const user = (req.runtime?.node?.req as Request | undefined)?.user;
  if (!user) throw new Error('requireUser did not run before the tus handler');
  return user;
}

/** An AppError as tus expects a refusal: a status and a body (ours, JSON). */
const tusRefusal = (err: unknown) =>
  err instanceof AppError ? { status_code: err.status, body: JSON.stringify(errorBody(err.code, err.message)) } : err;

/**
 * /api/files: tus uploads (creation, resume, cancel), limits, status, previews, signed links and
 * the downloads they open. Validate → FileService → present.
 */
export function filesRouter(files: FileService, options: { access: AccessTokens; corsOrigins: string[]; log: Logger }): Router {
  const r = Router();
  const auth = requireBearer(options.access);
  const tus = new TusServer({
    path: FILE_ROUTES.uploads,
    datastore: files.storage.uploads,
    relativeLocation: true,
    allowedOrigins: options.corsOrigins.includes('*') ? undefined : options.corsOrigins,
    // Creation is where the checks before any byte run: the id is the client's, validated there.
    namingFunction: async (req, metadata) => {
      try {
        const length = req.headers.get('upload-length');
        return await files.beginUpload(userOf(req), metadata ?? {}, length === null ? undefined : Number(length));
      } catch (err) {
        throw tusRefusal(err);
      }
    },
    onIncomingRequest: async (req, id) => {
      // tus's GET would serve the bytes to the uploader without our download rules.
      if (req.method === 'GET') throw tusRefusal(new AppError('NOT_FOUND', 'downloads use signed links'));
      if (req.method === 'POST') return;
      try {
        await files.authorizeUpload(userOf(req), id, req.method);
      } catch (err) {
        throw tusRefusal(err);
      }
    },
    onUploadFinish: async (_req, upload) => {
      const record = await files.finishUpload(upload.id).catch((err) => {
        throw tusRefusal(err);
      });
      if (record.status === 'rejected') {
        throw tusRefusal(new AppError((record.rejection?.code ?? 'FORBIDDEN') as never, record.rejection?.message ?? 'refused'));
      }
      // tus answers 204; a body with what the message must carry saves the client a request.
      return { status_code: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(files.present(record)) };
    },
  });
  tus.on(EVENTS.POST_TERMINATE, (_req, _res, id) => {
    files.cancelled(id).catch((err) => options.log.error({ err, fileId: id }, 'could not forget a cancelled upload'));
  });
  const tusHandler = (req: Request, res: Response, next: NextFunction) => {
    tus.handle(req, res).catch(next);
  };
  // Preflights never get here: the app's cors middleware answers them for every route.
  r.all(['/uploads', '/uploads/*rest'], auth, tusHandler);

  r.get(
    '/limits',
    auth,
    route(async (req, res) => {
      res.json(await files.limits(currentUser(req)));
    }),
  );

  // A signed link is the credential here: a browser navigation cannot send the bearer token.
  r.get(
    '/:id/content',
    route(async (req, res) => {
      const id = parse(fileIdSchema, req.params.id);
      const { record, inline, open } = await files.download(id, req.query).catch((err) => {
        if (err instanceof AppError && err.code === 'LINK_EXPIRED') res.setHeader('Cache-Control', 'no-store');
        throw err;
      });
      const ranges = req.range(record.size);
      const range = Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 1 ? ranges[0]! : undefined;
      const stream = await open(range);
      res.setHeader('Content-Type', record.mimeType ?? 'application/octet-stream');
      res.setHeader('Content-Disposition', contentDisposition(record.filename, { type: inline ? 'inline' : 'attachment' }));
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Content-Security-Policy', "default-src 'none'; img-src 'self'; sandbox");
      res.setHeader('Cache-Control', 'private, no-cache');
      res.setHeader('Accept-Ranges', 'bytes');
      if (range) {
        res.status(206);
        res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${record.size}`);
        res.setHeader('Content-Length', String(range.end - range.start + 1));
      } else {
        res.setHeader('Content-Length', String(record.size));
      }
      stream.on('error', (err) => {
        options.log.error({ err, fileId: id }, 'download failed');
        res.destroy(err);
      });
      stream.pipe(res);
    }),
  );

  r.get(
    '/:id/thumbnail',
    auth,
    route(async (req, res) => {
      const id = parse(fileIdSchema, req.params.id);
      const q = parse(messageQuery, req.query);
      const bytes = await files.thumbnail(currentUser(req), id, q.message);
      res.setHeader('Content-Type', 'image/webp');
      res.setHeader('Cache-Control', 'private, max-age=86400');
      res.send(bytes);
    }),
  );

  r.post(
    '/:id/link',
    auth,
    route(async (req, res) => {
      const id = parse(fileIdSchema, req.params.id);
      const body = parse(fileLinkRequestSchema, req.body ?? {});
      res.json(await files.link(currentUser(req), id, body));
    }),
  );

  r.get(
    '/:id',
    auth,
    route(async (req, res) => {
      const id = parse(fileIdSchema, req.params.id);
      const q = parse(messageQuery, req.query);
      res.json(await files.info(currentUser(req), id, q.message));
    }),
  );

  return r;
}
