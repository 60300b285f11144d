import pino from 'pino';

export type Logger = pino.Logger;

/** Structured logs. Tokens and message content are never logged at info level (redacted below too). */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'token', '*.token', 'content', '*.content', 'password', '*.password'],
      censor: '[redacted]',
    },
  });
}
