import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONVERSATION_ID_PATTERN, conversationIdFor, MESSAGE_ID_PATTERN, sortedParticipants, USER_ID_PATTERN } from '../src/ids';
import { LIMITS } from '../src/protocol';
import { conversationIdSchema, messageIdSchema, userIdSchema } from '../src/validators';
import { NUM_RUNS, userIdArb, userPairArb } from './arbitraries';

const jobArb = fc.option(userIdArb, { nil: null });
/** Ids from a tiny alphabet that includes the encoding's own tokens ('c', 'j'), so collisions would show. */
const tinyIdArb = fc.constantFrom('a', 'b', 'c', 'j', 'x', 'j-j', 'c_c');
const tinyPairArb = fc.tuple(tinyIdArb, tinyIdArb).filter(([a, b]) => a !== b);
const tinyJobArb = fc.option(tinyIdArb, { nil: null });
const maxId = (ch: string) => ch.repeat(LIMITS.idMaxLength);

describe('conversationIdFor', () => {
  it('does not depend on participant order', () => {
    fc.assert(
      fc.property(userPairArb, jobArb, ([a, b], job) => {
        expect(conversationIdFor([a, b], job)).toBe(conversationIdFor([b, a], job));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('deduplicates participants', () => {
    fc.assert(
      fc.property(userPairArb, jobArb, ([a, b], job) => {
        const id = conversationIdFor([a, b], job);
        expect(conversationIdFor([a, b, a], job)).toBe(id);
        expect(conversationIdFor([b, b, a, a], job)).toBe(id);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('distinguishes a conversation about a job from the one without (null and undefined mean no job)', () => {
    fc.assert(
      fc.property(userPairArb, userIdArb, ([a, b], job) => {
        const plain = conversationIdFor([a, b], null);
        expect(conversationIdFor([a, b], job)).not.toBe(plain);
        expect(conversationIdFor([a, b], undefined)).toBe(plain);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('matches CONVERSATION_ID_PATTERN and the validator for any two valid users and job, even at maximum length', () => {
    fc.assert(
      fc.property(userPairArb, jobArb, ([a, b], job) => {
        const id = conversationIdFor([a, b], job);
        expect(id).toMatch(CONVERSATION_ID_PATTERN);
        expect(conversationIdSchema.safeParse(id).success).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
    const longest = conversationIdFor([maxId('a'), maxId('b')], maxId('c'));
    expect(longest.length).toBeLessThanOrEqual(LIMITS.docIdMaxLength);
    expect(conversationIdSchema.safeParse(longest).success).toBe(true);
  });

  it('is injective: different participant sets or jobs give different ids (random ids)', () => {
    fc.assert(
      fc.property(userPairArb, jobArb, userPairArb, jobArb, (p1, j1, p2, j2) => {
        const sameInput = JSON.stringify([...p1].sort()) === JSON.stringify([...p2].sort()) && j1 === j2;
        expect(conversationIdFor(p1, j1) === conversationIdFor(p2, j2)).toBe(sameInput);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('is injective over a tiny alphabet that contains the encoding tokens c and j', () => {
    fc.assert(
      fc.property(tinyPairArb, tinyJobArb, tinyPairArb, tinyJobArb, (p1, j1, p2, j2) => {
        const sameInput = JSON.stringify([...p1].sort()) === JSON.stringify([...p2].sort()) && j1 === j2;
        expect(conversationIdFor(p1, j1) === conversationIdFor(p2, j2)).toBe(sameInput);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('can be decoded back into its sorted participants and job', () => {
    fc.assert(
      fc.property(userPairArb, jobArb, (pair, job) => {
        const [c, first, second, jobMarker, decodedJob, ...rest] = conversationIdFor(pair, job).split('.');
        expect(c).toBe('c');
        expect([first, second]).toStrictEqual(sortedParticipants(pair));
        expect(jobMarker === undefined ? null : jobMarker).toBe(job === null ? null : 'j');
        expect(decodedJob ?? null).toBe(job);
        expect(rest).toStrictEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a worked example', () => {
    expect(conversationIdFor(['bob', 'alice'], null)).toBe('c.alice.bob');
    expect(conversationIdFor(['bob', 'alice'], 'job42')).toBe('c.alice.bob.j.job42');
  });

  it('throws RangeError rather than produce an id over docIdMaxLength', () => {
    expect(() => conversationIdFor([maxId('a'), maxId('b'), maxId('c')], maxId('d'))).toThrow(RangeError);
  });
});

describe('sortedParticipants', () => {
  it('sorts and deduplicates', () => {
    fc.assert(
      fc.property(fc.array(userIdArb, { maxLength: 6 }), (ids) => {
        const sorted = sortedParticipants(ids);
        expect(sorted).toStrictEqual([...new Set(ids)].sort());
        expect(new Set(sorted).size).toBe(sorted.length);
        expect(sortedParticipants([...ids].reverse())).toStrictEqual(sorted);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('id patterns', () => {
  it('user ids: ObjectIds and token-safe ids up to 64 chars; no dots, spaces or longer ids', () => {
    fc.assert(
      fc.property(userIdArb, (id) => {
        expect(id).toMatch(USER_ID_PATTERN);
      }),
      { numRuns: NUM_RUNS },
    );
    for (const bad of ['', 'a.b', 'a b', 'a/b', 'ü', `${maxId('a')}a`]) expect(userIdSchema.safeParse(bad).success, bad).toBe(false);
  });

  it('message ids: UUIDs (any case) and ULIDs; nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uuid(),
          fc.ulid(),
          fc.uuid().map((u) => u.toUpperCase()),
        ),
        (id) => {
          expect(id).toMatch(MESSAGE_ID_PATTERN);
          expect(messageIdSchema.safeParse(id).success).toBe(true);
        },
      ),
      { numRuns: NUM_RUNS },
    );
    for (const bad of ['', 'msg-1', '0190f5b2-7c1e-7a3b-9c4d-5e6f7a8b9c0', '01ARZ3NDEKTSV4RRFFQ69G5FAU!', '01ARZ3NDEKTSV4RRFFQ69G5FAI']) {
      expect(MESSAGE_ID_PATTERN.test(bad), bad).toBe(false);
    }
  });

  it('conversation ids: exactly two participants, optional job', () => {
    for (const bad of ['c.a', 'c.a.b.c', 'c.a.b.j', 'c.a.b.j.', 'x.a.b', 'c.a.b.k.x', 'c..b']) {
      expect(CONVERSATION_ID_PATTERN.test(bad), bad).toBe(false);
    }
  });
});
