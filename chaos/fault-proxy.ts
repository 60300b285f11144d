import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export interface FaultProxyOptions {
  /** Where the real server listens. */
  targetPort: number;
  targetHost?: string;
  /**
   * A deterministic random source in [0, 1) for the proxy's own choices (which connection
   * `cutOne` cuts). Keep it apart from the schedule's source: how many chunks flow depends on
   * timing, and sharing one source would make the schedule depend on it too.
   */
  random: () => number;
  /** Extra delay per chunk, uniformly in [0, maxDelayMs] (can be changed with setMaxDelay). */
  maxDelayMs: number;
  /** Random source for chunk delays; defaults to `random`. */
  delayRandom?: () => number;
}

export type OfflineMode =
  /** Connections open but nothing moves: a dead network, noticed only by timeouts. */
  | 'blackhole'
  /** New connections are closed at once: airplane mode, a refused port. */
  | 'refuse';

/**
 * A TCP proxy on loopback between clients and the sync server that injects faults: per-chunk
 * delays (in order, per direction), cutting one or all connections, and two offline modes: a
 * "blackhole" in which new and existing connections stall without closing (a dead network
 * rather than a refused port), and "refuse", in which new connections are closed at once.
 * WebSocket frames ride on TCP, so cutting the TCP stream is exactly a dropped connection.
 */
export class FaultProxy {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  /** Client sockets accepted while blackholed: held silent until heal(). */
  private readonly stalled = new Set<Socket>();
  private mode: OfflineMode | null = null;
  private maxDelayMs: number;
  /** Faults injected so far, by kind. */
  readonly faults = { cuts: 0, delayedChunks: 0, blackholes: 0, refusals: 0, refusedConnections: 0 };

  private constructor(private readonly options: FaultProxyOptions) {
    this.maxDelayMs = options.maxDelayMs;
    this.server = createServer((client) => this.accept(client));
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('proxy not listening');
    return address.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The offline mode in force, or null when the path is healthy. */
  get offline(): OfflineMode | null {
    return this.mode;
  }

  /** Open proxied connections. */
  get connections(): number {
    return this.pairs.size;
  }

  setMaxDelay(ms: number): void {
    this.maxDelayMs = ms;
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.mode === 'refuse') {
      this.faults.refusedConnections++;
      client.destroy();
      return;
    }
    if (this.mode === 'blackhole') {
      // Accept and say nothing: the client waits for its own timeout, as on a dead network.
      client.pause();
      this.stalled.add(client);
      client.once('close', () => this.stalled.delete(client));
      return;
    }
    const upstream = tcpConnect(this.options.targetPort, this.options.targetHost ?? '127.0.0.1');
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    this.pipeWithDelay(client, upstream);
    this.pipeWithDelay(upstream, client);
  }

  /** Forwards chunks in order, each after a random delay (never reordering within a stream). */
  private pipeWithDelay(from: Socket, to: Socket): void {
    let chain = Promise.resolve();
    const random = this.options.delayRandom ?? this.options.random;
    from.on('data', (chunk) => {
      // While blackholed nothing moves: the bytes are lost, and heal() cuts the connection,
      // so no stream ever continues with a hole in it.
      if (this.mode === 'blackhole') return;
      const delay = this.maxDelayMs > 0 ? random() * this.maxDelayMs : 0;
      if (delay < 1) {
        chain = chain.then(() => {
          if (!to.destroyed && this.mode !== 'blackhole') to.write(chunk);
        });
        return;
      }
      this.faults.delayedChunks++;
      chain = chain.then(
        () =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              if (!to.destroyed && this.mode !== 'blackhole') to.write(chunk);
              resolve();
            }, delay);
          }),
      );
    });
  }

  /** Cuts every open connection (both sides see a reset). */
  cutAll(): number {
    const n = this.pairs.size;
    for (const [a, b] of [...this.pairs]) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
    if (n > 0) this.faults.cuts += n;
    return n;
  }

  /** Cuts one random open connection. */
  cutOne(): boolean {
    const all = [...this.pairs];
    if (all.length === 0) return false;
    const pair = all[Math.floor(this.options.random() * all.length)];
    if (!pair) return false;
    pair[0].destroy();
    pair[1].destroy();
    this.pairs.delete(pair);
    this.faults.cuts++;
    return true;
  }

  /** Stalls all traffic until `heal()`: open connections stop moving, new ones hang. */
  blackhole(): void {
    if (this.mode !== 'blackhole') this.faults.blackholes++;
    this.mode = 'blackhole';
  }

  /** Cuts every connection and closes new ones at once until `heal()`. */
  refuse(): void {
    if (this.mode !== 'refuse') this.faults.refusals++;
    this.mode = 'refuse';
    this.cutAll();
  }

  /**
   * Ends an offline period. After a blackhole the stalled connections are cut (their streams
   * lost bytes) and so are the connections held silent since, so clients reconnect at once.
   */
  heal(): void {
    const was = this.mode;
    this.mode = null;
    if (was === 'blackhole') this.cutAll();
    for (const s of this.stalled) s.destroy();
    this.stalled.clear();
  }

  async close(): Promise<void> {
    this.mode = null;
    this.cutAll();
    for (const s of this.stalled) s.destroy();
    this.stalled.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** mulberry32: a small seeded PRNG so a chaos run is reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An independent stream derived from a seed and a label (one per device, per proxy, ...). */
export function deriveSeed(seed: number, label: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  }
  return seededRandom(h)() * 4294967296;
}
