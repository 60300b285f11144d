import type { PushResult } from '@fetchwork/shared-schema';
import { describe, expect, test } from 'vitest';
import { classifyPushResult } from '../src/sync/push-outcome';

const conflict = (id: string) => ({ id }) as unknown as PushResult['conflicts'][number];

describe('classifyPushResult', () => {
  test('a refused change that came back as a conflict is left to the conflict handler', () => {
    const result: PushResult = {
      conflicts: [conflict('m1')],
      rejected: [{ id: 'm1', code: 'FORBIDDEN', message: 'read cannot be undone' }],
    };
    const out = classifyPushResult(result, new Map(), 5);
    expect(out.conflicts.map((c) => c.id)).toEqual(['m1']);
    expect(out.failed).toEqual([]);
    expect(out.retry).toEqual([]);
  });

  test('permanent codes fail at once, retryable ones are retried until the cap', () => {
    const attempts = new Map<string, number>();
    const result: PushResult = {
      conflicts: [],
      rejected: [
        { id: 'm1', code: 'FORBIDDEN', message: 'no' },
        { id: 'm2', code: 'CONVERSATION_NOT_FOUND', message: 'not yet' },
      ],
    };
    const first = classifyPushResult(result, attempts, 3);
    expect(first.failed.map((r) => r.id)).toEqual(['m1']);
    expect(first.retry.map((r) => r.id)).toEqual(['m2']);
    expect(classifyPushResult(result, attempts, 3).retry.map((r) => r.id)).toEqual(['m2']);
    const third = classifyPushResult(result, attempts, 3);
    expect(third.retry).toEqual([]);
    expect(third.failed.map((r) => [r.id, r.code])).toEqual([
      ['m1', 'FORBIDDEN'],
      ['m2', 'CONVERSATION_NOT_FOUND'],
    ]);
    expect(third.failed[1]!.message).toMatch(/gave up after 3 attempts/);
    expect(attempts.has('m2')).toBe(false);
  });
});
