import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, errorBody, isErrorBody, RETRYABLE_REJECT_CODES } from '../src/errors';
import { NUM_RUNS } from './arbitraries';

describe('error bodies', () => {
  it('errorBody builds { error: { code, message } } that isErrorBody recognises', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ERROR_CODES), fc.string(), (code, message) => {
        const body = errorBody(code, message);
        expect(body).toStrictEqual({ error: { code, message } });
        expect(isErrorBody(body)).toBe(true);
        expect(isErrorBody(JSON.parse(JSON.stringify(body)))).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it.each([
    null,
    undefined,
    'error',
    1,
    {},
    { error: null },
    { error: 'x' },
    { error: {} },
    { error: { code: 1 } },
    { documents: [], checkpoint: null },
  ])('isErrorBody(%j) is false', (value) => {
    expect(isErrorBody(value)).toBe(false);
  });

  it('isErrorBody never throws on random values', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBoxedValues: true }), (value) => {
        expect(typeof isErrorBody(value)).toBe('boolean');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('codes are unique and every retryable code is a known code', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of RETRYABLE_REJECT_CODES) expect(ERROR_CODES).toContain(code);
    expect(RETRYABLE_REJECT_CODES).not.toContain('VALIDATION_FAILED');
    expect(RETRYABLE_REJECT_CODES).not.toContain('FORBIDDEN');
  });
});
