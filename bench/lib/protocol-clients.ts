/**
 * Lightweight clients of each system under test, for load generation: they speak the wire
 * protocol directly (no local database), so thousands of them fit in one process and the load
 * they create is the server's, not a client library's.
 */
import { LIMITS, type MessageDoc, type Wire } from '@fetchwork/shared-schema';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

export type Received = (doc: Wire<MessageDoc>, at: number) => void;
type Row = { assumedMasterState?: unknown; newDocumentState: unknown };

const ACK_TIMEOUT = 30_000;

function connectSocket(url: string, auth: Record<string, unknown>): Promise<Socket> {
  const socket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/**
 * A minimal replica of our protocol: pulls both collections to the head on connect (so the
 * server knows its checkpoints and streams documents), applies `sync:stream`, pulls on resync,
 * and, like the real client, reports messages to it delivered with `messages:delivered` when
 * `receipts` (one receipt in flight; what arrives meanwhile goes in the next one).
 */
export class OursClient {
  private socket!: Socket;
  private readonly cursor: Record<string, number | null> = { messages: null, conversations: null };
  private readonly pulling: Record<string, Promise<void> | null> = { messages: null, conversations: null };
  private readonly again: Record<string, boolean> = { messages: false, conversations: false };
  private readonly receipted = new Set<string>();
  private receiptQueue: string[] = [];
  private receiptInFlight = false;
  readonly seen = new Set<string>();
  streamedDocs = 0;
  resyncs = 0;
  errors = 0;

  constructor(
    readonly userId: string,
    private readonly token: string,
    private readonly options: {
      receipts: boolean;
      onReceived?: Received;
      onStream?: (collection: string, docs: Wire<MessageDoc>[]) => void;
    },
  ) {}

  async connect(url: string): Promise<void> {
    this.socket = await connectSocket(url, { token: this.token });
    this.socket.on('sync:stream', (e: any) => {
      if (e.resync) {
        this.resyncs += 1;
        void this.pull(e.collection);
        return;
      }
      this.streamedDocs += e.documents.length;
      this.options.onStream?.(e.collection, e.documents);
      this.apply(e.collection, e.documents);
      this.cursor[e.collection] = e.checkpoint.seq;
    });
    await Promise.all([this.pull('conversations'), this.pull('messages')]);
  }

  private apply(collection: string, docs: Wire<MessageDoc>[]) {
    if (collection !== 'messages') return;
    const at = performance.now();
    for (const doc of docs) {
      if (doc.recipient !== this.userId) continue;
      if (!this.seen.has(doc.id)) {
        this.seen.add(doc.id);
        this.options.onReceived?.(doc, at);
      }
      if (this.options.receipts && doc.deliveredAt === null && doc.seq > 0 && !this.receipted.has(doc.id)) {
        this.receipted.add(doc.id);
        this.receiptQueue.push(doc.id);
      }
    }
    void this.sendReceipts();
  }

  private async sendReceipts(): Promise<void> {
    if (this.receiptInFlight) return;
    this.receiptInFlight = true;
    try {
      while (this.receiptQueue.length > 0) {
        const ids = this.receiptQueue.splice(0, LIMITS.deliveredMaxIds);
        const res: any = await this.socket
          .timeout(ACK_TIMEOUT)
          .emitWithAck('messages:delivered', { ids })
          .catch(() => ({ error: { code: 'TIMEOUT' } }));
        if (res.error) this.errors += 1;
      }
    } finally {
      this.receiptInFlight = false;
    }
  }

  /** Pulls to the head; a resync during a pull makes it go round once more. */
  pull(collection: string): Promise<void> {
    if (this.pulling[collection]) {
      this.again[collection] = true;
      return this.pulling[collection]!;
    }
    const run = async () => {
      do {
        this.again[collection] = false;
        for (;;) {
          const checkpoint = this.cursor[collection] === null ? null : { seq: this.cursor[collection] };
          const res: any = await this.socket.timeout(ACK_TIMEOUT).emitWithAck('sync:pull', { collection, checkpoint, batchSize: 250 });
          if (res.error) throw new Error(`pull: ${res.error.code}`);
          this.apply(collection, res.documents);
          this.cursor[collection] = res.checkpoint.seq;
          if (res.documents.length < 250) break;
        }
      } while (this.again[collection]);
    };
    const p = run()
      .catch(() => {
        this.errors += 1;
      })
      .finally(() => {
        this.pulling[collection] = null;
      });
    this.pulling[collection] = p;
    return p;
  }

  private readonly queues = new Map<string, { row: Row; done(ok: boolean): void }[]>();
  private readonly inFlight = new Set<string>();

  /**
   * Queues a row the way RxDB's replication pushes: one push per collection in flight, rows
   * written meanwhile go together in the next one (up to `pushBatchSize`, the client's 50).
   * Resolves true when the server stored the row.
   */
  enqueue(collection: string, row: Row): Promise<boolean> {
    return new Promise((done) => {
      const q = this.queues.get(collection) ?? [];
      q.push({ row, done });
      this.queues.set(collection, q);
      this.pump(collection);
    });
  }

  private pump(collection: string) {
    if (this.inFlight.has(collection)) return;
    const q = this.queues.get(collection);
    if (!q || q.length === 0) return;
    const batch = q.splice(0, 50);
    this.inFlight.add(collection);
    this.pushDetailed(
      collection,
      batch.map((b) => b.row),
    )
      .then(
        (bad) => {
          for (const b of batch) b.done(!bad.has((b.row.newDocumentState as { id: string }).id));
        },
        () => {
          for (const b of batch) b.done(false);
        },
      )
      .finally(() => {
        this.inFlight.delete(collection);
        this.pump(collection);
      });
  }

  private async pushDetailed(collection: string, rows: Row[]): Promise<Set<string>> {
    const res: any = await this.socket.timeout(ACK_TIMEOUT).emitWithAck('sync:push', { collection, rows });
    if (res.error) throw new Error(`push: ${res.error.code}`);
    if (res.rejected.length > 0) this.lastRejection = res.rejected[0];
    return new Set<string>([...res.rejected.map((r: any) => r.id), ...res.conflicts.map((c: any) => c.id)]);
  }

  lastRejection: unknown = null;

  /** Resolves with the number of rows the server stored (neither rejected nor in conflict). */
  async push(collection: string, rows: Row[]): Promise<number> {
    return rows.length - (await this.pushDetailed(collection, rows)).size;
  }

  close() {
    this.socket?.close();
  }
}

/** The floor: a Socket.io client that emits the document and gets it relayed, nothing else. */
export class RawClient {
  private socket!: Socket;
  readonly seen = new Set<string>();

  constructor(
    readonly userId: string,
    private readonly onReceived?: Received,
  ) {}

  async connect(url: string): Promise<void> {
    this.socket = await connectSocket(url, { userId: this.userId });
    this.socket.on('msg', (doc: Wire<MessageDoc>) => {
      const at = performance.now();
      if (this.seen.has(doc.id)) return;
      this.seen.add(doc.id);
      this.onReceived?.(doc, at);
    });
  }

  send(doc: Wire<MessageDoc>): Promise<unknown> {
    return this.socket.timeout(ACK_TIMEOUT).emitWithAck('msg', doc);
  }

  close() {
    this.socket?.close();
  }
}

/** FetchWork today: POST to send, GET the conversation every `intervalMs` to receive. */
export class RestClient {
  readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  errors = 0;

  constructor(
    readonly userId: string,
    private readonly token: string,
    private readonly url: string,
    private readonly onReceived?: Received,
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json: any = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json).slice(0, 200)}`);
    return json.data;
  }

  async createConversation(participantId: string): Promise<string> {
    return (await this.call('POST', '/api/messages/conversations', { participantId })).id;
  }

  send(conversationId: string, id: string, content: string): Promise<unknown> {
    return this.call('POST', `/api/messages/conversations/${conversationId}/messages`, { id, content });
  }

  /** Polls a conversation every `intervalMs` (first poll after `phaseMs`), as the current app does. */
  startPolling(conversationId: string, intervalMs: number, phaseMs: number) {
    const poll = async () => {
      try {
        const messages: Wire<MessageDoc>[] = await this.call('GET', `/api/messages/conversations/${conversationId}?limit=200`);
        const at = performance.now();
        for (const m of messages) {
          if (m.recipient !== this.userId || this.seen.has(m.id)) continue;
          this.seen.add(m.id);
          this.onReceived?.(m, at);
        }
      } catch {
        this.errors += 1;
      }
    };
    const tick = () => {
      void poll();
      this.timer = setTimeout(tick, intervalMs);
    };
    this.timer = setTimeout(tick, phaseMs);
  }

  close() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * RxDB's replication-websocket protocol spoken directly: `masterWrite` requests, answered by id.
 * Only used to put write load on the peer server (see scenarios/peer.ts).
 */
export class PeerWriter {
  private ws!: WebSocket;
  private next = 0;
  private readonly waiting = new Map<string, (v: unknown) => void>();

  async connect(url: string): Promise<void> {
    this.ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      const w = this.waiting.get(m.id);
      if (w) {
        this.waiting.delete(m.id);
        w(m.result);
      }
    });
  }

  write(collection: string, docs: Wire<MessageDoc>[]): Promise<unknown> {
    const id = `w${this.next++}`;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(JSON.stringify({ id, collection, method: 'masterWrite', params: [docs.map((d) => ({ newDocumentState: d }))] }));
    });
  }

  close() {
    this.ws?.close();
  }
}
