import { createHash } from 'node:crypto';

/** A document as both sides should hold it: replication bookkeeping (`_meta`, `_rev`, ...) left out. */
export function plainDoc(doc: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!k.startsWith('_') && v !== undefined) out[k] = v;
  return out;
}

/** JSON with object keys sorted at every level, so equal documents give equal strings. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const rec = value as Record<string, unknown>;
  const keys = Object.keys(rec)
    .filter((k) => rec[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(rec[k])}`).join(',')}}`;
}

/** One hash over a set of documents, independent of their order. */
export function hashDocs(docs: readonly Record<string, unknown>[]): string {
  const lines = docs.map((d) => stableJson(plainDoc(d))).sort();
  const h = createHash('sha1');
  for (const l of lines) h.update(l).update('\n');
  return `${docs.length}:${h.digest('hex').slice(0, 16)}`;
}
