/**
 * A Chromium trace of a page (CDP `Tracing`, the events DevTools' Performance panel records) and
 * where its renderer's main thread spent the time: self time per trace event name (a Layout
 * inside a FunctionCall is the Layout's, not the call's). A CPU profile charges everything that
 * is not JavaScript to "(program)", which was half of a sending page's busy time.
 * Usage: tsx bench/lib/trace-summary.ts <file.json> [N]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { CDPSession } from 'playwright-core';

export interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: { name?: string; data?: Record<string, unknown> };
}

const CATEGORIES = [
  'toplevel',
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'disabled-by-default-devtools.timeline.frame',
  'v8.execute',
  'blink',
  'blink.user_timing',
  'cc',
  'IndexedDB',
].join(',');

/** Records a trace of `session`'s browser while `fn` runs, writes it to `file`, and returns its events. */
export async function traced<T>(session: CDPSession, file: string, fn: () => Promise<T>): Promise<{ result: T; events: TraceEvent[] }> {
  const events: TraceEvent[] = [];
  const onData = (e: { value: object[] }) => {
    for (const v of e.value) events.push(v as TraceEvent);
  };
  session.on('Tracing.dataCollected', onData);
  await session.send('Tracing.start', { categories: CATEGORIES, transferMode: 'ReportEvents' });
  const result = await fn();
  const complete = new Promise<void>((resolve) => session.once('Tracing.tracingComplete', () => resolve()));
  await session.send('Tracing.end');
  await complete;
  session.off('Tracing.dataCollected', onData);
  writeFileSync(file, JSON.stringify({ traceEvents: events }));
  return { result, events };
}

/**
 * The renderer main threads' busy time by event name (self time, ms), for the renderers that ran
 * a thread named CrRendererMain; `perDivisor` divides every figure (e.g. by messages sent).
 */
export function summarizeTrace(events: readonly TraceEvent[], top = 25, perDivisor = 1): string {
  const mainThreads = new Set(
    events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`),
  );
  const self = new Map<string, number>();
  let tasks = 0;
  let busy = 0;
  const byThread = new Map<string, TraceEvent[]>();
  for (const e of events) {
    const key = `${e.pid}:${e.tid}`;
    if (!mainThreads.has(key) || e.ph !== 'X' || e.dur === undefined) continue;
    const list = byThread.get(key) ?? [];
    if (list.length === 0) byThread.set(key, list);
    list.push(e);
  }
  for (const list of byThread.values()) {
    // Parents first: earlier start, then the longer one.
    list.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
    const stack: { end: number; name: string; child: number; dur: number }[] = [];
    const close = (until: number) => {
      while (stack.length > 0 && stack[stack.length - 1]!.end <= until) {
        const top = stack.pop()!;
        self.set(top.name, (self.get(top.name) ?? 0) + Math.max(0, top.dur - top.child));
      }
    };
    for (const e of list) {
      close(e.ts);
      const dur = e.dur ?? 0;
      const parent = stack[stack.length - 1];
      if (parent) parent.child += dur;
      else {
        tasks++;
        busy += dur;
      }
      stack.push({ end: e.ts + dur, name: e.name, child: 0, dur });
    }
    close(Number.POSITIVE_INFINITY);
  }
  const ms = (us: number) => (us / 1000 / perDivisor).toFixed(2).padStart(9);
  const lines = [
    `main thread busy ${ms(busy)} ms in ${(tasks / perDivisor).toFixed(1)} top-level events${perDivisor === 1 ? '' : ` (every figure ÷ ${perDivisor})`}`,
  ];
  for (const [name, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`${ms(us)} ms  ${((us / Math.max(1, busy)) * 100).toFixed(1).padStart(5)}%  ${name}`);
  }
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('trace-summary.ts')) {
  const [file, n, per] = process.argv.slice(2);
  if (!file) throw new Error('usage: tsx bench/lib/trace-summary.ts <trace.json> [N] [divisor]');
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(parsed) ? parsed : parsed.traceEvents;
  console.log(summarizeTrace(events, n ? Number(n) : 25, per ? Number(per) : 1));
}
