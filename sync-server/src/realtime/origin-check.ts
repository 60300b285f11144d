import type { IncomingMessage } from 'node:http';
import type { Logger } from '../logger';

type AllowRequest = (req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void) => void;

/**
 * Engine.IO's `allowRequest`: runs for every new session, whichever transport opens it (a polling
 * handshake or a direct websocket upgrade); later requests carry that session's id. CORS alone
 * does not do this: a browser sends a cross-origin WebSocket without any CORS check, and a refused
 * CORS preflight only hides the answer, so the handshake must be refused here. This matters as soon
 * as something ambient (a cookie) can authenticate a socket.
 *
 * A request without an `Origin` header is allowed: browsers always send one on WebSocket and
 * cross-origin requests, so its absence means a non-browser client (the stock RxDB client in Node,
 * scripts), which the bearer token in `auth` authenticates as before. `*` in CLIENT_ORIGIN allows any.
 */
export function originCheck(origins: readonly string[], log: Logger): AllowRequest {
  const any = origins.includes('*');
  // Origins as browsers send them (scheme://host[:port], no path or trailing slash).
  const allowed = new Set(origins.filter((o) => o !== '*').map((o) => (URL.canParse(o) ? new URL(o).origin : o)));
  return (req, callback) => {
    const origin = req.headers.origin;
    if (origin === undefined || any || allowed.has(origin)) {
      callback(null, true);
      return;
    }
    // Warn: a wrong CLIENT_ORIGIN shows up here as every handshake of the app being refused.
    log.warn({ origin }, 'socket handshake refused: origin is not in CLIENT_ORIGIN');
    callback('origin not allowed', false);
  };
}
