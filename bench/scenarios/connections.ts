/**
 * Scenario 5 — connections: server memory per idle socket at 1k and 5k sockets. Each server runs
 * in its own child process (--expose-gc); readings are taken after a full GC, before and after
 * the sockets connect (from a load-generator process), and divided by the socket count. Ours:
 * every socket a distinct signed-in user (JWT handshake, user room, expiry timer, handlers,
 * presence) that pulled both collections once, as a real client does on connect. Baseline:
 * raw Socket.io with the same server options (the relay of scenario 1, one room per socket).
 */
import { type Ctx, num, type Row, ratioOf, type ScenarioResult } from '../lib/report';
import { sleep } from '../lib/stats';
import { startLoadGen, startServerHost } from '../lib/workers';

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

const steps = (mode: Ctx['mode']) => (mode === 'smoke' ? [200] : mode === 'quick' ? [1000] : [1000, 5000]);

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const counts = steps(ctx.mode);
  const results: Record<string, { sockets: number; rssPerSocket: number; heapPerSocket: number; connectMs: number }[]> = {};
  const gen = await startLoadGen('connections-load');
  try {
    for (const kind of ['raw', 'ours'] as const) {
      results[kind] = [];
      const host = await startServerHost(`${kind}-connections-server`);
      try {
        const { url } = await host.call<{ url: string }>('start', { kind });
        // One socket through the whole path first, so lazily created state is not counted per socket.
        await gen.call('connectIdle', { kind, url, n: 20 });
        await sleep(500);
        const m0 = await host.call<Mem>('mem');
        let connected = 20;
        for (const n of counts) {
          const r = await gen.call<{ connected: number; ms: number }>('connectIdle', { kind, url, n: n - (connected - 20) });
          connected += r.connected;
          await sleep(1000);
          const m = await host.call<Mem>('mem');
          const sockets = connected - 20;
          const row = {
            sockets,
            rssPerSocket: (m.rss - m0.rss) / sockets,
            heapPerSocket: (m.heapUsed + m.external - m0.heapUsed - m0.external) / sockets,
            connectMs: r.ms,
          };
          results[kind]!.push(row);
          ctx.log(
            `  ${kind.padEnd(4)} ${num(sockets)} idle sockets: ${num(row.rssPerSocket / 1024, 1)} KB RSS, ${num(row.heapPerSocket / 1024, 1)} KB heap+external per socket (connected in ${num(r.ms)} ms)`,
          );
        }
        await gen.call('closeIdle');
      } finally {
        await host.stop();
      }
    }
  } finally {
    await gen.stop();
  }
  const rows: Row[] = [];
  for (const [i, n] of counts.entries()) {
    const o = results.ours![i]!;
    const r = results.raw![i]!;
    rows.push({
      scenario: 'connections',
      figure: `Server memory per idle socket at ${num(n)} sockets (JS heap + external, after GC)`,
      ours: `${num(o.heapPerSocket / 1024, 1)} KB`,
      baseline: `${num(r.heapPerSocket / 1024, 1)} KB (raw Socket.io)`,
      ratio: ratioOf(o.heapPerSocket, r.heapPerSocket),
      target: '≤ 1.5× raw Socket.io',
      met: o.heapPerSocket <= 1.5 * r.heapPerSocket,
    });
    rows.push({
      scenario: 'connections',
      figure: `Server RSS delta per idle socket at ${num(n)} sockets`,
      ours: `${num(o.rssPerSocket / 1024, 1)} KB`,
      baseline: `${num(r.rssPerSocket / 1024, 1)} KB`,
      ratio: ratioOf(o.rssPerSocket, r.rssPerSocket),
      target: '',
      met: null,
      detail: true,
    });
  }
  return {
    scenario: 'connections',
    rows,
    details: results,
    notes: [
      'The per-socket figure is the JS heap + external delta after a forced full GC (deterministic); the RSS delta (detail) also counts allocator slack and moves by megabytes between runs, so at 1k sockets it is noise-dominated.',
    ],
    durationMs: performance.now() - t0,
  };
}
