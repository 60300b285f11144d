import type { ClientToServerEvents } from '@fetchwork/shared-schema';
import type { SyncSocket } from './types';

/**
 * A socket event handler made once per server and shared by every socket: Socket.io calls a
 * listener with its socket as `this`, so nothing per socket needs a closure. A closure and its
 * context per socket and event were most of what an idle signed-in socket held beyond raw
 * Socket.io (docs/performance.md, "Memory per idle socket").
 */
export type SharedHandler = (this: SyncSocket, payload: unknown, ack?: unknown) => void;

/** Runs when the socket disconnects (Socket.io emits `disconnect` once), the socket as `this`. */
export type DisconnectHandler = (this: SyncSocket) => void;

/** What one module listens to on every socket. */
export interface SocketHandlers {
  events?: Partial<Record<keyof ClientToServerEvents, SharedHandler>>;
  disconnect?: DisconnectHandler;
}

export function attachHandlers(socket: SyncSocket, handlers: SocketHandlers): void {
  const events = handlers.events ?? {};
  for (const event of Object.keys(events) as (keyof ClientToServerEvents)[]) {
    socket.on(event, events[event] as never);
  }
  if (handlers.disconnect) socket.on('disconnect', handlers.disconnect);
}
