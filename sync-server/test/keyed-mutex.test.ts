import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../src/sync/keyed-mutex';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyedMutex', () => {
  it('runs holders of one key one after another, in arrival order', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const job = (name: string) =>
      m.runExclusive(['c1'], async () => {
        log.push(`${name} in`);
        await tick();
        log.push(`${name} out`);
        return name;
      });
    expect(await Promise.all([job('a'), job('b'), job('c')])).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
  });

  it('starts the work at once when its keys are free, and lets other keys run beside it', async () => {
    const m = new KeyedMutex();
    let release!: () => void;
    let firstStarted = false;
    const first = m.runExclusive(['c1'], async () => {
      firstStarted = true;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    // No turn of the event loop or the microtask queue in between.
    expect(firstStarted).toBe(true);
    let otherRan = false;
    await m.runExclusive(['c2'], async () => {
      otherRan = true;
    });
    expect(otherRan).toBe(true);
    release();
    await first;
  });

  it('frees a key whose work threw, and hands it to the next waiter', async () => {
    const m = new KeyedMutex();
    const failing = m.runExclusive(['c1'], async () => {
      await tick();
      throw new Error('boom');
    });
    const next = m.runExclusive(['c1'], async () => 'next');
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe('next');
    let immediate = false;
    void m.runExclusive(['c1'], async () => {
      immediate = true;
    });
    expect(immediate).toBe(true);
  });

  it('takes several keys in sorted order, so crossing callers do not deadlock', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const job = (name: string, keys: string[]) =>
      m.runExclusive(keys, async () => {
        log.push(`${name} in`);
        await tick();
        log.push(`${name} out`);
      });
    await Promise.all([job('x', ['k1', 'k2']), job('y', ['k2', 'k1']), job('z', ['k2', 'k2'])]);
    // All share k2: each finished before the next began, and all of them ran.
    expect(log).toHaveLength(6);
    for (let i = 0; i < 6; i += 2) expect(log[i + 1]).toBe(log[i]!.replace(' in', ' out'));
    expect(log.filter((l) => l.endsWith(' in')).sort()).toEqual(['x in', 'y in', 'z in']);
  });
});
