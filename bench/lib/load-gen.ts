/**
 * Child process that puts load on a server: `conversations` sender/receiver pairs of lightweight
 * protocol clients, driven open-loop at a fixed rate (a message is sent when it is due, whether
 * or not earlier ones were answered), or closed-loop for throughput. It measures the delivery
 * latency of its own messages (send → recipient socket) as the "server path" figure.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MessageDoc, Wire } from '@fetchwork/shared-schema';
import { draftConversation, draftMessage, newUserId, tokenFor } from './docs';
import { serveRpc } from '../../chaos/lib/ipc';
import { OursClient, PeerWriter, RawClient, RestClient } from './protocol-clients';
import { sleep, summarize } from './stats';

type Kind = 'ours' | 'raw' | 'rest' | 'peer';

interface Pair {
  conversation: string;
  sender: { id: string; client: OursClient | RawClient | RestClient | PeerWriter };
  receiver: { id: string; client: OursClient | RawClient | RestClient } | null;
}

let kind: Kind = 'ours';
let url = '';
let pairs: Pair[] = [];
let idle: { close(): void }[] = [];
const sentAt = new Map<string, number>();
const latencies: number[] = [];
let measureFrom = Number.POSITIVE_INFINITY;
let measureTo = Number.POSITIVE_INFINITY;
let received = 0;

const onReceived = (doc: Wire<MessageDoc>, at: number) => {
  const t0 = sentAt.get(doc.id);
  if (t0 === undefined) return;
  sentAt.delete(doc.id);
  if (t0 >= measureFrom && t0 < measureTo) {
    latencies.push(at - t0);
    received += 1;
  }
};

async function inBatches<T>(items: T[], size: number, fn: (t: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

async function setup(args: { kind: Kind; url: string; conversations: number; receipts?: boolean }) {
  await teardown();
  kind = args.kind;
  url = args.url;
  const n = args.conversations;
  pairs = [];
  for (let i = 0; i < n; i++) {
    const s = newUserId('s');
    const r = newUserId('r');
    const conversation = draftConversation(s, r).id;
    if (kind === 'ours') {
      pairs.push({
        conversation,
        sender: { id: s, client: new OursClient(s, tokenFor(s), { receipts: false }) },
        receiver: { id: r, client: new OursClient(r, tokenFor(r), { receipts: args.receipts ?? true, onReceived }) },
      });
    } else if (kind === 'raw') {
      pairs.push({ conversation, sender: { id: s, client: new RawClient(s) }, receiver: { id: r, client: new RawClient(r, onReceived) } });
    } else if (kind === 'rest') {
      pairs.push({
        conversation,
        sender: { id: s, client: new RestClient(s, tokenFor(s), url) },
        receiver: { id: r, client: new RestClient(r, tokenFor(r), url, onReceived) },
      });
    } else {
      pairs.push({ conversation, sender: { id: s, client: new PeerWriter() }, receiver: null });
    }
  }
  if (kind === 'ours') {
    await inBatches(pairs, 25, async (p) => {
      await Promise.all([(p.sender.client as OursClient).connect(url), (p.receiver!.client as OursClient).connect(url)]);
      const stored = await (p.sender.client as OursClient).push('conversations', [
        { newDocumentState: draftConversation(p.sender.id, p.receiver!.id) },
      ]);
      if (stored !== 1) throw new Error('conversation not created');
    });
  } else if (kind === 'raw') {
    await inBatches(pairs, 25, (p) =>
      Promise.all([(p.sender.client as RawClient).connect(url), (p.receiver!.client as RawClient).connect(url)]),
    );
  } else if (kind === 'rest') {
    await inBatches(pairs, 25, async (p) => {
      const id = await (p.sender.client as RestClient).createConversation(p.receiver!.id);
      if (id !== p.conversation) throw new Error(`unexpected conversation id ${id}`);
    });
  } else {
    await inBatches(pairs, 25, (p) => (p.sender.client as PeerWriter).connect(url));
  }
  return { pairs: pairs.length };
}

function send(p: Pair, errors: { n: number }, acks: number[]): boolean {
  const doc = draftMessage(p.conversation, p.sender.id, p.receiver?.id ?? `${p.sender.id}x`);
  const t0 = performance.now();
  if (p.receiver) sentAt.set(doc.id, t0);
  const inWindow = t0 >= measureFrom && t0 < measureTo;
  const done = () => {
    if (inWindow) acks.push(performance.now() - t0);
  };
  const fail = () => {
    errors.n += 1;
  };
  const c = p.sender.client;
  if (c instanceof OursClient) c.enqueue('messages', { newDocumentState: doc }).then((ok) => (ok ? done() : fail()));
  else if (c instanceof RawClient) c.send(doc).then(done, fail);
  else if (c instanceof RestClient) c.send(p.conversation, doc.id, doc.content).then(done, fail);
  else (c as PeerWriter).write('traffic', [doc]).then(done, fail);
  return inWindow;
}

/** Open loop at `rate` msg/s over all pairs for warmup + measure, then waits up to drainMs. */
async function run(args: { rate: number; warmupMs: number; measureMs: number; drainMs: number; pollIntervalMs?: number }) {
  if (args.rate <= 0)
    return { rate: 0, sent: 0, measured: 0, received: 0, missing: 0, errors: 0, latency: summarize([]), ack: summarize([]) };
  latencies.length = 0;
  sentAt.clear();
  received = 0;
  const acks: number[] = [];
  const errors = { n: 0 };
  const loop = monitorEventLoopDelay({ resolution: 5 });
  if (kind === 'rest') {
    for (const p of pairs)
      (p.receiver!.client as RestClient).startPolling(
        p.conversation,
        args.pollIntervalMs ?? 2000,
        Math.random() * (args.pollIntervalMs ?? 2000),
      );
  }
  const start = performance.now();
  measureFrom = start + args.warmupMs;
  measureTo = measureFrom + args.measureMs;
  let k = 0;
  let measured = 0;
  loop.enable();
  while (performance.now() < measureTo) {
    const due = Math.floor(((performance.now() - start) / 1000) * args.rate);
    while (k < due) {
      if (send(pairs[k % pairs.length]!, errors, acks)) measured += 1;
      k += 1;
    }
    await sleep(1);
  }
  const deadline = performance.now() + args.drainMs;
  const expected = () => (pairs[0]?.receiver ? measured : 0);
  while (performance.now() < deadline && (received < expected() || acks.length < measured)) await sleep(10);
  loop.disable();
  if (kind === 'rest') for (const p of pairs) (p.receiver!.client as RestClient).close();
  measureFrom = measureTo = Number.POSITIVE_INFINITY;
  const lat = summarize(latencies);
  return {
    rate: args.rate,
    sent: k,
    measured,
    received,
    missing: expected() - received,
    errors: errors.n,
    latency: lat,
    ack: summarize(acks),
    achievedRate: (k / (args.warmupMs + args.measureMs)) * 1000,
    loadGenLoopDelayP99Ms: loop.percentile(99) / 1e6,
  };
}

/**
 * Closed loop (ours only): every sender keeps `inflight` pushes of `batch` new messages in
 * flight for `durationMs`; counts rows the server stored and messages its recipients received.
 */
async function throughput(args: { durationMs: number; warmupMs: number; inflight: number; batch: number }) {
  let stored = 0;
  let errors = 0;
  let pushes = 0;
  let stop = false;
  let counting = false;
  const recvAtStart = () => pairs.reduce((a, p) => a + (p.receiver!.client as OursClient).seen.size, 0);
  const worker = async (p: Pair) => {
    const c = p.sender.client as OursClient;
    while (!stop) {
      const docs = Array.from({ length: args.batch }, () => ({
        newDocumentState: draftMessage(p.conversation, p.sender.id, p.receiver!.id),
      }));
      try {
        const n = await c.push('messages', docs);
        if (counting) {
          stored += n;
          pushes += 1;
        }
      } catch {
        errors += 1;
      }
    }
  };
  const workers = pairs.flatMap((p) => Array.from({ length: args.inflight }, () => worker(p)));
  await sleep(args.warmupMs);
  const r0 = recvAtStart();
  counting = true;
  const t0 = performance.now();
  await sleep(args.durationMs);
  counting = false;
  const seconds = (performance.now() - t0) / 1000;
  const r1 = recvAtStart();
  stop = true;
  await Promise.all(workers);
  return { storedPerSec: stored / seconds, pushesPerSec: pushes / seconds, receivedPerSec: (r1 - r0) / seconds, stored, seconds, errors };
}

/** Opens `n` idle sockets (ours: each its own signed-in user). */
async function connectIdle(args: { kind: 'ours' | 'raw'; url: string; n: number }) {
  const clients: (OursClient | RawClient)[] = [];
  for (let i = 0; i < args.n; i++) {
    const id = newUserId('i');
    clients.push(args.kind === 'ours' ? new OursClient(id, tokenFor(id), { receipts: false }) : new RawClient(id));
  }
  const t0 = performance.now();
  await inBatches(clients, 100, async (c) => {
    if (c instanceof OursClient) await c.connect(args.url);
    else await c.connect(args.url);
  });
  idle.push(...clients);
  return { connected: clients.length, ms: performance.now() - t0 };
}

async function closeIdle() {
  for (const c of idle) c.close();
  idle = [];
  await sleep(200);
}

async function teardown() {
  for (const p of pairs) {
    p.sender.client.close();
    p.receiver?.client.close();
  }
  pairs = [];
  await closeIdle();
}

serveRpc({ setup, run, throughput, connectIdle, closeIdle, teardown, cpu: () => process.cpuUsage() }, teardown);
