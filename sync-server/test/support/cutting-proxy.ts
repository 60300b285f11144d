import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A loopback TCP proxy that counts the bytes clients send through it and can drop every
 * connection once a number of bytes has passed: a network cut in the middle of an upload.
 */
export class CuttingProxy {
  private readonly server: Server;
  private readonly open = new Set<Socket>();
  /** Bytes from clients to the backend, headers included. */
  sent = 0;
  cuts = 0;
  private cutAt = Number.POSITIVE_INFINITY;

  constructor(private readonly backendPort: number) {
    this.server = createServer((client) => this.pipe(client));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Drops every open connection once `bytes` more have gone through (once). */
  cutAfter(bytes: number): void {
    this.cutAt = this.sent + bytes;
  }

  private pipe(client: Socket): void {
    const upstream = tcpConnect(this.backendPort, '127.0.0.1');
    this.open.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      this.sent += chunk.length;
      if (this.sent >= this.cutAt) {
        this.cutAt = Number.POSITIVE_INFINITY;
        this.cuts += 1;
        for (const s of this.open) s.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    const close = () => {
      this.open.delete(client);
      this.open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', close).on('close', close);
    client.on('error', close).on('close', close);
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
