/**
 * Summarises a Chrome CPU profile of the app's page by original source, through the build's
 * source maps: self time per package (node_modules/<pkg>) or app file (client/src/…), and the
 * top functions with their original file and line. Native frames (IndexedDB `put`, `postMessage`,
 * …) are charged to the nearest JavaScript caller's source and listed by name too.
 *
 * Usage: tsx bench/lib/profile-sources.ts <file.cpuprofile> <build dir> [N]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SourceMapConsumer } from 'source-map-js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

const PSEUDO = /^\((idle|program|garbage collector|root)\)$/;

function owner(source: string | null): string {
  if (!source) return '(unmapped)';
  const nm = source.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = source.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const m = /(client\/src|shared-schema\/src)\/.*$/.exec(source);
  return m ? m[0] : source.replace(/^(\.\.\/)+/, '');
}

export function summarizeBySource(profilePath: string, buildDir: string, top = 20): string {
  const prof = JSON.parse(readFileSync(profilePath, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const maps = new Map<string, SourceMapConsumer | null>();
  const consumer = (url: string): SourceMapConsumer | null => {
    const file = /\/(assets\/[^/?#]+\.js)(?:[?#].*)?$/.exec(url)?.[1];
    if (!file) return null;
    if (!maps.has(file)) {
      const path = join(buildDir, `${file}.map`);
      maps.set(file, existsSync(path) ? new SourceMapConsumer(JSON.parse(readFileSync(path, 'utf8'))) : null);
    }
    return maps.get(file)!;
  };
  const where = new Map<number, { source: string; fn: string }>();
  const locate = (n: Node): { source: string; fn: string } => {
    let w = where.get(n.id);
    if (!w) {
      const f = n.callFrame;
      const c = f.url ? consumer(f.url) : null;
      const pos = c?.originalPositionFor({ line: f.lineNumber + 1, column: Math.max(0, f.columnNumber) });
      const src = owner(pos?.source ?? (f.url || null));
      const file = pos?.source ? pos.source.replace(/^.*node_modules\//, '').replace(/^(\.\.\/)+/, '') : f.url;
      w = { source: src, fn: `${f.functionName || pos?.name || '(anonymous)'} ${file}:${pos?.line ?? f.lineNumber + 1}` };
      where.set(n.id, w);
    }
    return w;
  };
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  let total = 0;
  const pseudo = new Map<string, number>();
  const bySource = new Map<string, number>();
  const byFn = new Map<string, number>();
  const natives = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    total += t;
    const name = n.callFrame.functionName;
    if (PSEUDO.test(name)) {
      pseudo.set(name, (pseudo.get(name) ?? 0) + t);
      continue;
    }
    let js: Node | undefined = n;
    while (js && !js.callFrame.url) js = parent.has(js.id) ? byId.get(parent.get(js.id)!) : undefined;
    const src = js ? locate(js).source : '(no JS caller)';
    bySource.set(src, (bySource.get(src) ?? 0) + t);
    if (n.callFrame.url) byFn.set(locate(n).fn, (byFn.get(locate(n).fn) ?? 0) + t);
    else {
      const k = `${name || '(native)'} ← ${src}`;
      natives.set(k, (natives.get(k) ?? 0) + t);
    }
  }
  const idle = pseudo.get('(idle)') ?? 0;
  const busy = total - idle;
  const pct = (t: number) => `${((t / busy) * 100).toFixed(1).padStart(5)}%`;
  const list = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => `${(t / 1000).toFixed(0).padStart(6)} ms ${pct(t)}  ${k}`)
      .join('\n');
  return [
    `profiled ${(total / 1000).toFixed(0)} ms: idle ${(idle / 1000).toFixed(0)} ms, busy ${(busy / 1000).toFixed(0)} ms (percentages below are of busy time); ` +
      `(program) ${((pseudo.get('(program)') ?? 0) / 1000).toFixed(0)} ms, GC ${((pseudo.get('(garbage collector)') ?? 0) / 1000).toFixed(0)} ms`,
    '--- self time by source (native calls charged to their JavaScript caller)',
    list(bySource, top),
    '--- native calls by caller',
    list(natives, Math.ceil(top / 2)),
    '--- top functions (self)',
    list(byFn, top),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(summarizeBySource(process.argv[2]!, process.argv[3]!, Number(process.argv[4] ?? 20)));
}
