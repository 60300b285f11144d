/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and inclusive
 * time per function, top N, optionally of a window (ms from the profile's start).
 * Usage: tsx bench/lib/profile-summary.ts <file.cpuprofile> [N] [filter] [fromMs] [toMs]
 *        tsx bench/lib/profile-summary.ts <file.cpuprofile> timeline   (busy ms per second: to find a phase's window)
 * A .heapprofile (server-host's `allocSampling`) is summarised the same way in bytes allocated.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  hitCount?: number;
}

/** A function as both summaries name it: name, then its file (node_modules shortened) and line. */
const frameKey = (f: Node['callFrame']) =>
  `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/node_modules\//, 'nm:').replace(/^file:\/\/\/work\/main\//, '')}:${f.lineNumber + 1}`;

export function summarizeProfile(path: string, top = 30, filter?: string, fromMs = 0, toMs = Number.POSITIVE_INFINITY): string {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as {
    nodes: Node[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
    endTime: number;
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let elapsedUs = 0;
  prof.samples.forEach((id, i) => {
    elapsedUs += prof.timeDeltas[i] ?? 0;
    if (elapsedUs < fromMs * 1000 || elapsedUs > toMs * 1000) return;
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  const key = (n: Node) => frameKey(n.callFrame);
  const selfBy = new Map<string, number>();
  const inclBy = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    selfBy.set(key(n), (selfBy.get(key(n)) ?? 0) + t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      inclBy.set(k, (inclBy.get(k) ?? 0) + t);
    }
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) =>
    /\(idle\)|\(program\)|\(garbage collector\)/.test(byId.get(id)!.callFrame.functionName),
  );
  const fmt = (m: Map<string, number>) =>
    [...m.entries()]
      .filter(([k]) => !filter || k.includes(filter))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, t]) => `${(t / 1000).toFixed(0).padStart(7)} ms ${((t / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  return [
    `total ${(total / 1000).toFixed(0)} ms; ${idle.map(([id, t]) => `${byId.get(id)!.callFrame.functionName} ${(t / 1000).toFixed(0)} ms`).join(', ')}`,
    '--- self',
    fmt(selfBy),
    '--- inclusive',
    fmt(inclBy),
  ].join('\n');
}

interface HeapNode {
  callFrame: Node['callFrame'];
  selfSize: number;
  children?: HeapNode[];
}

/** Bytes allocated per function (self) and under it (inclusive), from a sampling heap profile. */
export function summarizeHeapProfile(path: string, top = 30): string {
  const { head } = JSON.parse(readFileSync(path, 'utf8')) as { head: HeapNode };
  const key = (n: HeapNode) => frameKey(n.callFrame);
  const selfBy = new Map<string, number>();
  const inclBy = new Map<string, number>();
  const visit = (n: HeapNode, stack: string[]) => {
    const k = key(n);
    selfBy.set(k, (selfBy.get(k) ?? 0) + n.selfSize);
    const path = [...stack, k];
    for (const seen of new Set(path)) inclBy.set(seen, (inclBy.get(seen) ?? 0) + n.selfSize);
    for (const c of n.children ?? []) visit(c, path);
  };
  visit(head, []);
  const total = [...selfBy.values()].reduce((a, b) => a + b, 0);
  const fmt = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, b]) => `${(b / 1e6).toFixed(1).padStart(8)} MB ${((b / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  return [`allocated (sampled) ${(total / 1e6).toFixed(0)} MB`, '--- self', fmt(selfBy), '--- inclusive', fmt(inclBy)].join('\n');
}

/** Busy time (not idle) per second of a .cpuprofile, to find where a scenario's phase begins and ends. */
export function profileTimeline(path: string): string {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const idle = new Set(prof.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const busy: number[] = [];
  let elapsedUs = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    elapsedUs += dt;
    const second = Math.floor(elapsedUs / 1e6);
    busy[second] = (busy[second] ?? 0) + (idle.has(id) ? 0 : dt);
  });
  return Array.from(busy, (us, second) => `${String(second).padStart(4)} s ${((us ?? 0) / 1000).toFixed(0).padStart(5)} ms busy`).join(
    '\n',
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top, filter, from, to] = process.argv.slice(2) as [string, ...(string | undefined)[]];
  console.log(
    file.endsWith('.heapprofile')
      ? summarizeHeapProfile(file, Number(top ?? 30))
      : top === 'timeline'
        ? profileTimeline(file)
        : summarizeProfile(file, Number(top ?? 30), filter || undefined, Number(from ?? 0), to ? Number(to) : undefined),
  );
}
