import { errorBody, parseInput } from '@fetchwork/shared-schema';
import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import { AppError } from '../errors';
import type { Logger } from '../logger';

/** Parses untrusted input with a shared schema or throws a coded 4xx. */
export function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = parseInput(schema, input);
  if (!result.ok) throw new AppError(result.code, result.message);
  return result.value;
}

type AsyncHandler = (req: Request, res: Response) => Promise<void>;

/** Express 5 forwards rejected promises to the error handler; this only keeps handlers short. */
export const route = (handler: AsyncHandler) => (req: Request, res: Response, next: NextFunction) =>
  handler(req, res).catch(next);

/** The last middleware: coded errors as `{ error: { code, message } }`, never a stack trace. */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof AppError) {
      res.status(err.status).json(errorBody(err.code, err.message));
      return;
    }
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    if (status === 413) {
      res.status(413).json(errorBody('BATCH_TOO_LARGE', 'request body too large'));
      return;
    }
    if (status >= 400 && status < 500) {
      const type = (err as { type?: unknown }).type;
      const message =
        type === 'entity.parse.failed'
          ? 'request body is not valid JSON'
          : type === 'encoding.invalid'
            ? 'request body is not valid UTF-8'
            : status === 415
              ? 'unsupported content encoding or charset'
              : 'malformed request';
      res.status(400).json(errorBody('VALIDATION_FAILED', message));
      return;
    }
    log.error({ err, url: req.originalUrl.split('?')[0] }, 'request failed');
    res.status(500).json(errorBody('INTERNAL', 'the server could not handle this request'));
  };
}
