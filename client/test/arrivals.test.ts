import type { MessageDoc, Wire } from '@fetchwork/shared-schema';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { mergeArrivals, Arrivals } from '../src/inbox/arrivals';
import { testMessage } from './support/test-database';

const at = (id: string, createdAt: string) => ({ id, createdAt });
const ids = (docs: readonly { id: string }[]) => docs.map((d) => d.id);
const wire = (doc: MessageDoc, deleted = false): Wire<MessageDoc> => ({ ...doc, _deleted: deleted });

test('an arrival goes where the window would put it once stored, and the window keeps its limit', () => {
  const stored = [at('c', '2026-01-03'), at('b', '2026-01-02'), at('a', '2026-01-01')];
  expect(ids(mergeArrivals(stored, [at('d', '2026-01-04')], 3))).toEqual(['d', 'c', 'b']);
  expect(ids(mergeArrivals(stored, [at('d', '2026-01-04')], 10))).toEqual(['d', 'c', 'b', 'a']);
  // Same time: the id decides, newest (largest) first, as the query sorts.
  expect(ids(mergeArrivals(stored, [at('bb', '2026-01-02')], 10))).toEqual(['c', 'bb', 'b', 'a']);
});

test('the replica wins: an arrival the window holds is ignored, and one below a full window is not shown', () => {
  const stored = [at('c', '2026-01-03'), at('b', '2026-01-02')];
  const held = { id: 'c', createdAt: '2026-01-03', content: 'newer state' };
  const merged = mergeArrivals(stored, [held], 2);
  expect(merged).toBe(stored);
  // An older message edited elsewhere: the full window would not show it once stored either.
  expect(ids(mergeArrivals(stored, [at('old', '2025-12-01')], 2))).toEqual(['c', 'b']);
  expect(ids(mergeArrivals(stored, [at('old', '2025-12-01')], 3))).toEqual(['c', 'b', 'old']);
});

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

test("arrivals are per conversation, keep each id's latest state, and leave a second after the replica stored them", () => {
  const arrivals = new Arrivals(() => Date.now());
  const seen: string[][] = [];
  const sub = arrivals.of$('conv-1').subscribe((docs) => seen.push(docs.map((d) => `${d.id}:${d.content}`)));
  const m1 = { ...testMessage('one', 'm1'), conversation: 'conv-1' };
  const m2 = { ...testMessage('two', 'm2'), conversation: 'conv-1' };
  const other = { ...testMessage('elsewhere', 'x'), conversation: 'conv-2' };
  arrivals.add([wire(m1), wire(other)]);
  arrivals.add([wire(m2), wire({ ...m1, content: 'one, edited' })]);
  expect(seen).toEqual([[], ['m1:one'], ['m2:two', 'm1:one, edited']]);

  arrivals.stored(['m1']);
  vi.advanceTimersByTime(999);
  expect(arrivals.size).toBe(3);
  vi.advanceTimersByTime(1_000);
  expect(seen.at(-1)).toEqual(['m2:two']);
  // What is never stored goes after 15 s.
  vi.advanceTimersByTime(15_000);
  expect(seen.at(-1)).toEqual([]);
  expect(arrivals.size).toBe(0);
  sub.unsubscribe();
});

test('a removal carried by the stream is not an arrival; withdraw and clear forget', () => {
  const arrivals = new Arrivals(() => Date.now());
  const m = { ...testMessage('gone', 'm'), conversation: 'c' };
  arrivals.add([wire(m, true)]);
  expect(arrivals.size).toBe(0);
  arrivals.add([wire(m)]);
  expect(arrivals.size).toBe(1);
  arrivals.withdraw('m');
  expect(arrivals.size).toBe(0);
  arrivals.add([wire(m)]);
  arrivals.clear();
  expect(arrivals.size).toBe(0);
  expect(vi.getTimerCount()).toBe(0);
});
