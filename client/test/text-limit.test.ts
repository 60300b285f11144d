import { expect, test } from 'vitest';
import { cutToLimit } from '../src/ui/text-limit';

test('cutToLimit keeps text within the limit and never splits an emoji', () => {
  expect(cutToLimit('hello', 10)).toBe('hello');
  expect(cutToLimit('hello world', 5)).toBe('hello');
  // '😀' is two UTF-16 units: a cut after its first would leave a lone surrogate.
  expect(cutToLimit('abc😀', 4)).toBe('abc');
  expect(cutToLimit('abc😀', 5)).toBe('abc😀');
  expect(cutToLimit('😀😀', 3)).toBe('😀');
  const cut = cutToLimit(`${'x'.repeat(1999)}😀`, 2000);
  expect(cut).toBe('x'.repeat(1999));
  expect(/[\uD800-\uDBFF]$/.test(cut)).toBe(false);
});
