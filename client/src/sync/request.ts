import {
  type BootstrapPayload,
  type BootstrapResult,
  type DeliveredPayload,
  type DeliveredResult,
  type ErrorBody,
  type HistoryPayload,
  type HistoryResult,
  isErrorBody,
  type PagePayload,
  type PageResult,
  type PullPayload,
  type PullResult,
  type PushPayload,
  type PushResult,
} from '@fetchwork/shared-schema';
import type { SyncSocket } from './socket';

/** The replication was stopped while a request waited; RxDB discards the result. */
export class RequestAbortedError extends Error {
  override name = 'RequestAbortedError';
}

/** No acknowledgement within the timeout: the server may or may not have acted. */
export class AckTimeoutError extends Error {
  override name = 'AckTimeoutError';
}

/** A coded `{ error }` answer for the whole request. */
export class ServerError extends Error {
  override name = 'ServerError';
  constructor(readonly body: ErrorBody) {
    super(`${body.error.code}: ${body.error.message}`);
  }
  get code() {
    return this.body.error.code;
  }
}

/**
 * Resolves once the socket is connected. Requests wait here instead of being emitted on a
 * disconnected socket: socket.io would buffer such an emit and send it after the reconnect,
 * where a stale pull would move the server's idea of this socket's checkpoint.
 */
export function whenConnected(socket: SyncSocket, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new RequestAbortedError('aborted'));
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onConnect = () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      socket.off('connect', onConnect);
      reject(new RequestAbortedError('aborted'));
    };
    socket.once('connect', onConnect);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

interface Requests {
  'sync:pull': [PullPayload, PullResult];
  'sync:push': [PushPayload, PushResult];
  'messages:delivered': [DeliveredPayload, DeliveredResult];
  'sync:bootstrap': [BootstrapPayload, BootstrapResult];
  'sync:history': [HistoryPayload, HistoryResult];
  'sync:page': [PagePayload, PageResult];
}

/**
 * Emits with an acknowledgement and a timeout; an `{ error }` answer becomes a ServerError.
 * `onAnswer` sees the raw answer synchronously when it arrives, before any later socket event
 * is dispatched (the promise settles only after those): stream-buffer.ts needs that order.
 */
export async function request<E extends keyof Requests>(
  socket: SyncSocket,
  event: E,
  payload: Requests[E][0],
  timeoutMs: number,
  signal: AbortSignal,
  onAnswer?: (answer: unknown) => void,
): Promise<Requests[E][1]> {
  // Emitted in the caller's task when connected: an await would let queued microtasks (a React
  // render of the message being sent, say) run before the frame leaves.
  if (!socket.connected || signal.aborted) await whenConnected(socket, signal);
  let answer: unknown;
  try {
    // socket.io's typed emit cannot resolve an event name that is a type parameter.
    const timed = socket.timeout(timeoutMs) as unknown as {
      emit(event: string, payload: unknown, ack: (err: Error | null, answer: unknown) => void): void;
    };
    answer = await new Promise<unknown>((resolve, reject) => {
      timed.emit(event, payload, (err, value) => {
        if (err) return reject(err);
        onAnswer?.(value);
        resolve(value);
      });
    });
  } catch (err) {
    if (signal.aborted) throw new RequestAbortedError('aborted');
    throw new AckTimeoutError(`${event} was not acknowledged within ${timeoutMs} ms: ${(err as Error).message}`);
  }
  if (signal.aborted) throw new RequestAbortedError('aborted');
  if (isErrorBody(answer)) throw new ServerError(answer);
  return answer as Requests[E][1];
}
