import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conversationConflictHandler, mergeConversation, sameClientConversationState } from '../src/conflict/conversation-conflict';
import { CONVERSATION_SERVER_FIELDS } from '../src/documents';
import { conversationIdFor } from '../src/ids';
import { wireConversationSchema } from '../src/validators';
import { ALICE, BOB, conversationArb, NUM_RUNS, sampleConversation, userIdArb, type WireConversation } from './arbitraries';

const pairArb = fc.record({ master: conversationArb, local: conversationArb });

/** The server-owned part of a second conversation, pasted over the first. */
function withServerFieldsOf(base: WireConversation, other: WireConversation): WireConversation {
  const copy: Record<string, unknown> = { ...base };
  for (const field of CONVERSATION_SERVER_FIELDS) copy[field] = other[field];
  return copy as unknown as WireConversation;
}

describe('conversation arbitraries', () => {
  it('generate conversations the wire validator accepts', () => {
    fc.assert(
      fc.property(conversationArb, (c) => {
        expect(wireConversationSchema.safeParse(c).success).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('conversation conflicts: the master wins', () => {
  it('mergeConversation returns the master state, whatever the local says', () => {
    fc.assert(
      fc.property(pairArb, ({ master, local }) => {
        const before = structuredClone(master);
        const merged = mergeConversation(master, local);
        expect(merged).toStrictEqual(before);
        // Idempotent by construction: merging the result again changes nothing.
        expect(mergeConversation(master, merged)).toStrictEqual(merged);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('resolve yields realMasterState, not the assumed master or the local state', async () => {
    await fc.assert(
      fc.asyncProperty(pairArb, conversationArb, async ({ master, local }, assumed) => {
        const resolved = await conversationConflictHandler.resolve(
          { assumedMasterState: assumed, realMasterState: master, newDocumentState: local },
          'test',
        );
        expect(resolved).toStrictEqual(master);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a local unread count cannot override the server count', async () => {
    const master = sampleConversation({ unreadCount: { [ALICE]: 0, [BOB]: 3 }, seq: 9 });
    const local = sampleConversation({ unreadCount: { [ALICE]: 0, [BOB]: 0 }, seq: 7 });
    const resolved = await conversationConflictHandler.resolve({ realMasterState: master, newDocumentState: local }, 'test');
    expect(resolved.unreadCount[BOB]).toBe(3);
    expect(resolved.seq).toBe(9);
  });
});

describe('conversationConflictHandler.isEqual is full equality', () => {
  const isEqual = (a: WireConversation, b: WireConversation) => conversationConflictHandler.isEqual(a, b, 'test');

  it('is true for a copy with keys in another order and false when any server field differs', () => {
    fc.assert(
      fc.property(pairArb, ({ master, local }) => {
        const reordered = Object.fromEntries(Object.entries(structuredClone(master)).reverse()) as WireConversation;
        expect(isEqual(master, reordered)).toBe(true);
        const changed = withServerFieldsOf(master, local);
        const same = CONVERSATION_SERVER_FIELDS.every((f) => JSON.stringify(master[f]) === JSON.stringify(local[f]));
        if (!same) expect(isEqual(master, changed)).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('sees a new seq or lastActivity (so the downstream writes the pulled state)', () => {
    const c = sampleConversation();
    expect(isEqual(c, { ...c, seq: c.seq + 1 })).toBe(false);
    expect(isEqual(c, { ...c, lastActivity: '2024-05-01T11:00:00.000Z' })).toBe(false);
  });
});

describe('sameClientConversationState compares id, participants (any order) and job only', () => {
  it('ignores every server field', () => {
    fc.assert(
      fc.property(pairArb, ({ master, local }) => {
        expect(sameClientConversationState(master, withServerFieldsOf(master, local))).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('ignores participant order', () => {
    fc.assert(
      fc.property(conversationArb, (c) => {
        expect(sameClientConversationState(c, { ...c, participants: [...c.participants].reverse() })).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('agrees with comparing id, sorted participants and job (random and related pairs)', () => {
    const relatedArb = fc.oneof(
      pairArb,
      pairArb.map(({ master, local }) => ({ master, local: withServerFieldsOf(master, local) })),
      pairArb.map(({ master, local }) => ({
        master,
        local: { ...master, participants: [...master.participants].reverse(), job: local.job },
      })),
    );
    fc.assert(
      fc.property(relatedArb, ({ master: a, local: b }) => {
        const expected =
          a.id === b.id && a.job === b.job && JSON.stringify([...a.participants].sort()) === JSON.stringify([...b.participants].sort());
        expect(sameClientConversationState(a, b)).toBe(expected);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('sees a different job, a different participant or a different id', () => {
    fc.assert(
      fc.property(conversationArb, userIdArb, (c, other) => {
        fc.pre(other !== c.job && !c.participants.includes(other));
        expect(sameClientConversationState(c, { ...c, job: other })).toBe(false);
        expect(sameClientConversationState(c, { ...c, participants: [c.participants[0] as string, other] })).toBe(false);
        expect(sameClientConversationState(c, { ...c, id: conversationIdFor([...c.participants], other) })).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('sees job null versus a job', () => {
    const c = sampleConversation();
    expect(sameClientConversationState(c, { ...c, job: 'job1' })).toBe(false);
  });

  it("also compares RxDB's _deleted flag (conversations are never removed, so it is always false)", () => {
    // Beyond "id/participants/job only": the src compares _deleted too. A client-side removal is a
    // client-controlled change, so treating it as a difference is the safe choice.
    const c = sampleConversation();
    expect(sameClientConversationState(c, { ...c, _deleted: true })).toBe(false);
  });
});
