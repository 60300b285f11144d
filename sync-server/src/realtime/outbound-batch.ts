import type { Socket as NetSocket } from 'node:net';
import type { Logger } from '../logger';
import type { SyncSocket } from './types';

/** The engine.io and ws internals this relies on; checked at run time, never assumed. */
interface EngineTransport {
  name: string;
  writable: boolean;
  socket?: { _socket?: NetSocket };
}
interface EngineConn {
  readyState: string;
  upgrading?: boolean;
  transport: EngineTransport;
  flush(): void;
}

/**
 * Coalesces what one turn writes to a socket into one TCP write. A commit group ends with, per
 * socket, a push ack and a `sync:stream` per collection; engine.io writes the first packet at once
 * and the rest after that write's callback, each ws frame its own `writev` (five syscalls per
 * one-message push, the largest single cost in the server's profile). Held sockets buffer their
 * packets in engine.io's own write buffer (its transport is marked busy, as during a write in
 * flight); on the next tick they are flushed in order with the TCP socket corked, so the
 * frames leave in one `writev`. Nothing is reordered or dropped: it is engine.io's buffer and
 * flush, only later by a tick. Only idle WebSocket transports are held; polling, an upgrade in
 * progress or a write already in flight are left to engine.io. (Socket.io drops a `volatile`
 * emit to a transport that is not writable: the server sends none.)
 */
export class OutboundBatch {
  private held: { conn: EngineConn; transport: EngineTransport }[] = [];

  constructor(private readonly log?: Logger) {}

  hold(socket: SyncSocket): void {
    const conn = socket.conn as unknown as EngineConn;
    const transport = conn.transport;
    if (transport?.name !== 'websocket' || !transport.writable || conn.upgrading || conn.readyState !== 'open') return;
    transport.writable = false;
    if (this.held.length === 0) process.nextTick(() => this.release());
    this.held.push({ conn, transport });
  }

  release(): void {
    const held = this.held;
    this.held = [];
    for (const { conn, transport } of held) {
      // A closed socket or a replaced transport has nothing of ours to flush.
      if (conn.transport !== transport) continue;
      transport.writable = true;
      const tcp = transport.socket?._socket;
      tcp?.cork();
      try {
        conn.flush();
      } catch (err) {
        // One broken connection must not keep the others' packets held (or throw out of a tick).
        this.log?.warn({ err }, 'flushing a held socket failed');
      } finally {
        tcp?.uncork();
      }
    }
  }
}
