import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { WalkGate } from '../src/sync/walk-gate';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Whether the promise has settled after the pending microtasks. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

test('the walk goes on at once when nothing holds it, and only after the last hold and its grace when held', async () => {
  const gate = new WalkGate(250, () => Date.now());
  const signal = new AbortController().signal;
  expect(await settled(gate.whenOpen(signal))).toBe(true);

  const first = gate.hold();
  const second = gate.hold();
  const waiting = gate.whenOpen(signal);
  first();
  first();
  await vi.advanceTimersByTimeAsync(1_000);
  expect(await settled(waiting)).toBe(false);
  second();
  await vi.advanceTimersByTimeAsync(249);
  expect(await settled(waiting)).toBe(false);
  // A new hold within the grace starts it again.
  const third = gate.hold();
  await vi.advanceTimersByTimeAsync(500);
  expect(await settled(waiting)).toBe(false);
  third();
  await vi.advanceTimersByTimeAsync(250);
  expect(await settled(waiting)).toBe(true);
});

test('a stopped walk does not wait for the gate', async () => {
  const gate = new WalkGate(250, () => Date.now());
  const stop = new AbortController();
  gate.hold();
  const waiting = gate.whenOpen(stop.signal);
  expect(await settled(waiting)).toBe(false);
  stop.abort();
  expect(await settled(waiting)).toBe(true);
});
