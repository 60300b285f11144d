import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A round-robin TCP load balancer on loopback, standing in for the one in front of a real
 * deployment. With websocket-only transport every connection is self-contained, so no sticky
 * sessions are needed; a dead backend is skipped on the next connection.
 */
export class TcpBalancer {
  private readonly server: Server;
  private next = 0;
  private readonly open = new Set<Socket>();

  constructor(private readonly backends: number[]) {
    this.server = createServer((client) => this.route(client, 0));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  private route(client: Socket, tries: number): void {
    const port = this.backends[this.next++ % this.backends.length]!;
    const upstream = tcpConnect(port, '127.0.0.1');
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.open.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
    });
    upstream.on('error', () => {
      if (!connected && tries < this.backends.length) return this.route(client, tries + 1);
      client.destroy();
    });
    const close = () => {
      this.open.delete(client);
      this.open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('close', () => connected && close());
    client.on('error', close).on('close', close);
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
