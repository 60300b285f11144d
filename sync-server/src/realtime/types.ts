import type { ClientToServerEvents, CollectionName, ServerToClientEvents } from '@fetchwork/shared-schema';
import type { Server, Socket } from 'socket.io';
import type { AuthUser } from '../auth/tokens';

/** Between instances (Redis adapter): sessions ended on one instance, so every instance refuses their access tokens. */
interface InterServerEvents {
  'session:revoked': (sessionIds: string[]) => void;
}

export interface SocketData {
  user: AuthUser;
  /**
   * Per collection, the feed position this socket's client is known to hold: the checkpoint of
   * the last pull answer or stream sent to it. A commit is streamed with its documents only when
   * it continues exactly from here; otherwise the socket gets a resync signal.
   */
  cursors: Partial<Record<CollectionName, number>>;
  /** Per collection, how many stream events (documents or resync) this socket was sent (read-position.ts). */
  streamed: Partial<Record<CollectionName, number>>;
  /** The protocol version the client speaks (checked at the handshake): what to answer an older one differently. */
  protocolVersion: number;
  /** The token's expiry timer (socket-auth.ts); this instance's own, nothing sends `data` to another. */
  expiry?: NodeJS.Timeout;
}

export type SyncServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type SyncSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export const userRoom = (userId: string) => `user:${userId}`;
/** The sockets of one signed-in session (standalone mode): cut together when it ends. */
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;
