import { describe, expect, test } from 'vitest';
import { highlightRuns, normalizeTerm, tokenize } from '../src/inbox/search/terms';

describe('search terms', () => {
  test('tokens are letters and digits of any script; case and accents fold', () => {
    expect(tokenize("Café, naïve résumé #42 — Zürich's")).toEqual(['Café', 'naïve', 'résumé', '42', 'Zürich', 's']);
    expect(normalizeTerm('Résumé')).toBe('resume');
  });

  test('highlight runs cover the whole text and mark exactly the matched tokens', () => {
    const text = 'Pay the Invoice, then invoices.';
    const runs = highlightRuns(text, new Set(['invoice']));
    expect(runs.map((r) => r.text).join('')).toBe(text);
    expect(runs.filter((r) => r.match).map((r) => r.text)).toEqual(['Invoice']);
    expect(highlightRuns('', new Set(['x']))).toEqual([]);
  });
});
