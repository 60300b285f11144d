/**
 * One tokenizer and one term normaliser for indexing, querying and highlighting, so that a
 * highlighted run is exactly what matched: letters and digits of any script, case and
 * accents folded ("Café" finds "cafe").
 */
const WORD = /[\p{L}\p{N}]+/gu;

export function tokenize(text: string): string[] {
  return text.match(WORD) ?? [];
}

export function normalizeTerm(term: string): string {
  return term
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

/** Splits text into plain and matching runs; a token matches when its normalised form is in `terms`. */
export function highlightRuns(text: string, terms: ReadonlySet<string>): { text: string; match: boolean }[] {
  const runs: { text: string; match: boolean }[] = [];
  const push = (part: string, match: boolean) => {
    if (!part) return;
    const last = runs[runs.length - 1];
    if (last && last.match === match) last.text += part;
    else runs.push({ text: part, match });
  };
  let pos = 0;
  for (const m of text.matchAll(WORD)) {
    const start = m.index ?? 0;
    push(text.slice(pos, start), false);
    push(m[0], terms.has(normalizeTerm(m[0])));
    pos = start + m[0].length;
  }
  push(text.slice(pos), false);
  return runs;
}
