/**
 * What an idle socket holds on the server, by kind of heap object: two heap snapshots of a server
 * host (after a full GC), before and after N idle sockets connect the way the connections
 * scenario connects them, and the difference per socket by (type, constructor). Closures are
 * listed by their source position too. Usage:
 *   npx tsx bench/lib/heap-per-socket.ts [ours|raw] [N=1000] [top=30]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './stats';
import { startLoadGen, startServerHost } from './workers';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; location_fields: string[] } };
  nodes: number[];
  strings: string[];
  locations: number[];
}

/** Bytes and count per kind of object; closures also per source position. */
function tally(path: string): Map<string, { bytes: number; count: number }> {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const { node_fields: fields, node_types: nodeTypes, location_fields: locFields } = s.snapshot.meta;
  const [types] = nodeTypes;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const where = new Map<number, string>();
  for (let i = 0; i < s.locations.length; i += locFields.length) {
    where.set(s.locations[i]!, `script ${s.locations[i + 1]} line ${s.locations[i + 2]! + 1} col ${s.locations[i + 3]}`);
  }
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    const type = types[s.nodes[i + typeAt]!]!;
    // Strings, numbers and code are named by their contents: one line each is enough.
    const name = ['string', 'concatenated string', 'sliced string', 'number', 'code'].includes(type)
      ? ''
      : s.strings[s.nodes[i + nameAt]!]!.slice(0, 60);
    const key = type === 'closure' ? `${type} ${name || '(anonymous)'} @ ${where.get(i) ?? '?'}` : `${type} ${name}`;
    const t = out.get(key) ?? { bytes: 0, count: 0 };
    t.bytes += s.nodes[i + sizeAt]!;
    t.count += 1;
    out.set(key, t);
  }
  return out;
}

const kind = (process.argv[2] ?? 'ours') as 'ours' | 'raw';
const n = Number(process.argv[3] ?? 1000);
const top = Number(process.argv[4] ?? 30);
const dir = mkdtempSync(join(tmpdir(), 'fw-heap-'));
const [host, gen] = await Promise.all([startServerHost('heap-server'), startLoadGen('heap-load')]);
try {
  const { url } = await host.call<{ url: string }>('start', { kind });
  // As the connections scenario: lazily made state is made before the first snapshot.
  await gen.call('connectIdle', { kind, url, n: 20 });
  await sleep(500);
  const before = await host.call<string>('heapSnapshot', { path: join(dir, 'before.heapsnapshot') });
  await gen.call('connectIdle', { kind, url, n });
  await sleep(1000);
  const after = await host.call<string>('heapSnapshot', { path: join(dir, 'after.heapsnapshot') });
  const a = tally(before);
  const b = tally(after);
  const diff = [...b].map(([key, t]) => ({
    key,
    bytes: (t.bytes - (a.get(key)?.bytes ?? 0)) / n,
    count: (t.count - (a.get(key)?.count ?? 0)) / n,
  }));
  const total = diff.reduce((sum, d) => sum + d.bytes, 0);
  console.log(`${kind}: ${total.toFixed(0)} bytes of heap per idle socket (${n} sockets)`);
  for (const d of diff.sort((x, y) => y.bytes - x.bytes).slice(0, top)) {
    console.log(`${d.bytes.toFixed(0).padStart(7)} B  ${d.count.toFixed(2).padStart(6)} per socket  ${d.key}`);
  }
} finally {
  await gen.call('closeIdle');
  await Promise.all([gen.stop(), host.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
