import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeMessage, messageConflictHandler, sameClientMessageState } from '../src/conflict/message-conflict';
import { MESSAGE_SERVER_FIELDS } from '../src/documents';
import { wireMessageSchema } from '../src/validators';
import {
  attachmentsArb,
  BOB,
  buildMessage,
  consistentMessageArb,
  consistentPairArb,
  consistentStateArb,
  contentArb,
  isoDateArb,
  looseMessageArb,
  loosePairArb,
  messageIdentityArb,
  NUM_RUNS,
  sentMessage,
  serverFieldsArb,
  type WireMessage,
} from './arbitraries';

const IDENTITY_FIELDS = ['id', 'conversation', 'sender', 'recipient', 'messageType'] as const;

/** The four fields that travel together with "who wrote the content last". */
function contentOf(m: WireMessage) {
  return { content: m.content, attachments: m.attachments, isEdited: m.isEdited, editedAt: m.editedAt };
}

/** Chronological comparison of nullable ISO times; null is "never", i.e. before everything. */
function timeOf(t: string | null): number {
  return t === null ? Number.NEGATIVE_INFINITY : Date.parse(t);
}

function addMs(iso: string, ms: number): string {
  return new Date(Date.parse(iso) + ms).toISOString();
}

/** Reverses the key order of an object, to show results do not depend on it. */
function reverseKeys<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).reverse()) as T;
}

describe('test arbitraries', () => {
  it('generate documents the wire validator accepts (so the properties below run on real inputs)', () => {
    fc.assert(
      fc.property(consistentMessageArb, looseMessageArb, (a, b) => {
        expect(wireMessageSchema.safeParse(a).success).toBe(true);
        expect(wireMessageSchema.safeParse(b).success).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('mergeMessage: shape', () => {
  it('turns two valid documents into a valid document', () => {
    fc.assert(
      fc.property(loosePairArb, ({ master, local }) => {
        const parsed = wireMessageSchema.safeParse(mergeMessage(master, local));
        expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('always returns _deleted: false (messages are soft-deleted through isDeleted)', () => {
    fc.assert(
      fc.property(loosePairArb, ({ master, local }) => {
        expect(mergeMessage(master, local)._deleted).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('mergeMessage: deterministic', () => {
  it('gives equal results for equal inputs, whatever their key order or object identity', () => {
    fc.assert(
      fc.property(loosePairArb, ({ master, local }) => {
        const first = mergeMessage(master, local);
        const again = mergeMessage(structuredClone(master), structuredClone(local));
        const reordered = mergeMessage(reverseKeys(master), reverseKeys(local));
        expect(again).toStrictEqual(first);
        expect(reordered).toStrictEqual(first);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('does not mutate its inputs', () => {
    fc.assert(
      fc.property(loosePairArb, ({ master, local }) => {
        const masterBefore = structuredClone(master);
        const localBefore = structuredClone(local);
        mergeMessage(master, local);
        expect(master).toStrictEqual(masterBefore);
        expect(local).toStrictEqual(localBefore);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('mergeMessage: idempotent', () => {
  it('merging the result into the same master again changes nothing (consistent documents)', () => {
    fc.assert(
      fc.property(consistentPairArb, ({ master, local }) => {
        const once = mergeMessage(master, local);
        expect(mergeMessage(master, once)).toStrictEqual(once);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('merging the result into the same master again changes nothing, whatever the inputs', () => {
    fc.assert(
      fc.property(loosePairArb, ({ master, local }) => {
        const once = mergeMessage(master, local);
        expect(mergeMessage(master, once)).toStrictEqual(once);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('the result is a fixed point: merging it with itself changes nothing', () => {
    fc.assert(
      fc.property(consistentPairArb, ({ master, local }) => {
        const once = mergeMessage(master, local);
        expect(mergeMessage(once, once)).toStrictEqual(once);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('the handler calls the re-merged result equal to the first result (no push storm)', async () => {
    await fc.assert(
      fc.asyncProperty(consistentPairArb, async ({ master, local }) => {
        const once = await messageConflictHandler.resolve({ realMasterState: master, newDocumentState: local }, 'test');
        const twice = await messageConflictHandler.resolve({ realMasterState: master, newDocumentState: once }, 'test');
        expect(messageConflictHandler.isEqual(once, twice, 'test')).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('mergeMessage: a copy that says nothing new resolves to the master exactly', () => {
  /**
   * The server answers a pushed copy that equals its stored state on every client-controlled
   * field but differs in any other (a stale retry, a copy carrying the client's own clock) with
   * the stored state as a conflict. Unless the merge then gives the master exactly, the resolved
   * copy is pushed again, answered again, forever: a push storm that also holds back the
   * replica's downstream (found by the chaos harness, seed 2).
   */
  const sameStateArb = fc
    .tuple(consistentMessageArb, serverFieldsArb, fc.tuple(isoDateArb, isoDateArb, isoDateArb, isoDateArb), fc.boolean())
    .map(([stored, server, [t1, t2, t3, t4], localEditMark]) => {
      // The server's own shape of a deleted message: no text, no attachments, no edit mark.
      // (and read implies delivered, as the server stores it).
      const canonical: WireMessage = { ...stored, deliveredAt: stored.deliveredAt ?? stored.readAt };
      const master: WireMessage = stored.isDeleted
        ? { ...canonical, content: '', attachments: [], isEdited: false, editedAt: null }
        : canonical;
      const retime = (t: string | null, other: string) => (t === null ? null : other);
      const local: WireMessage = {
        ...master,
        ...server,
        readAt: retime(master.readAt, t1),
        deliveredAt: retime(master.deliveredAt, t2),
        editedAt: retime(master.editedAt, t3),
        deletedAt: retime(master.deletedAt, t4),
        // A device that edited and then learnt of the delete keeps its own edit mark.
        ...(master.isDeleted && localEditMark ? { isEdited: true, editedAt: t3 } : {}),
      };
      return { master, local };
    });

  it('same client-controlled state, other times and server fields: the result is the master', () => {
    fc.assert(
      fc.property(sameStateArb, ({ master, local }) => {
        expect(sameClientMessageState(local, master)).toBe(true);
        expect(mergeMessage(master, local)).toStrictEqual(master);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('an edit that lost to a delete on another device resolves to the deleted master', () => {
    const master = sentMessage({
      isDeleted: true,
      deletedAt: '2024-05-01T10:10:00.000Z',
      content: '',
      isRead: true,
      readAt: '2024-05-01T10:11:00.000Z',
      deliveredAt: '2024-05-01T10:09:00.000Z',
    });
    const local = { ...master, isEdited: true, editedAt: '2024-05-01T10:20:00.000Z' };
    expect(mergeMessage(master, local)).toStrictEqual(master);
    expect(mergeMessage(master, mergeMessage(master, local))).toStrictEqual(master);
  });
});

describe('mergeMessage: receipts are monotonic', () => {
  it('isRead never goes from set to unset, whatever the inputs', () => {
    fc.assert(
      fc.property(loosePairArb, ({ master, local }) => {
        const merged = mergeMessage(master, local);
        expect(merged.isRead).toBe(master.isRead || local.isRead);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('deliveredAt never goes from set to unset, whatever the inputs, and keeps the master time', () => {
    fc.assert(
      fc.property(loosePairArb, ({ master, local }) => {
        const merged = mergeMessage(master, local);
        if (master.deliveredAt !== null) expect(merged.deliveredAt).toBe(master.deliveredAt);
        if (local.deliveredAt !== null) expect(merged.deliveredAt).not.toBeNull();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('keeps the master read time once the master is read', () => {
    fc.assert(
      fc.property(loosePairArb, ({ master, local }) => {
        fc.pre(master.isRead);
        expect(mergeMessage(master, local).readAt).toBe(master.readAt);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('read implies delivered, and a read message has a read time (consistent documents)', () => {
    fc.assert(
      fc.property(consistentPairArb, ({ master, local }) => {
        const merged = mergeMessage(master, local);
        if (merged.isRead) {
          expect(merged.readAt).not.toBeNull();
          expect(merged.deliveredAt).not.toBeNull();
        } else {
          expect(merged.readAt).toBeNull();
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a chain of merges never loses a receipt (sequence of concurrent writes)', () => {
    fc.assert(
      fc.property(consistentMessageArb, fc.array(consistentStateArb, { minLength: 1, maxLength: 8 }), (start, states) => {
        let master = start;
        let everRead = start.isRead;
        let everDelivered = start.deliveredAt !== null;
        for (const state of states) {
          const local = { ...master, ...state };
          everRead ||= local.isRead;
          everDelivered ||= local.deliveredAt !== null || local.isRead;
          master = mergeMessage(master, local);
          expect(master.isRead).toBe(everRead);
          if (everDelivered) expect(master.deliveredAt).not.toBeNull();
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('fills deliveredAt from readAt when a read arrives before any delivery', () => {
    const master = sentMessage();
    const local = sentMessage({ isRead: true, readAt: '2024-05-01T10:05:00.000Z' });
    const merged = mergeMessage(master, local);
    expect(merged.isRead).toBe(true);
    expect(merged.readAt).toBe('2024-05-01T10:05:00.000Z');
    expect(merged.deliveredAt).toBe('2024-05-01T10:05:00.000Z');
  });

  it('a stale local copy (unread, undelivered) cannot unread the master', () => {
    const master = sentMessage({ isRead: true, readAt: '2024-05-01T10:05:00.000Z', deliveredAt: '2024-05-01T10:04:00.000Z' });
    const local = sentMessage();
    const merged = mergeMessage(master, local);
    expect(merged).toMatchObject({ isRead: true, readAt: '2024-05-01T10:05:00.000Z', deliveredAt: '2024-05-01T10:04:00.000Z' });
  });
});

describe('mergeMessage: delete is sticky', () => {
  it('a delete on either side wins and clears content and attachments, whatever the inputs', () => {
    fc.assert(
      fc.property(loosePairArb, ({ master, local }) => {
        const merged = mergeMessage(master, local);
        if (master.isDeleted || local.isDeleted) {
          expect(merged.isDeleted).toBe(true);
          expect(merged.content).toBe('');
          expect(merged.attachments).toStrictEqual([]);
        } else {
          expect(merged.isDeleted).toBe(false);
          expect(merged.deletedAt).toBeNull();
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('keeps the master delete time once the master is deleted, else the local one (consistent documents)', () => {
    // The server stamps deletedAt with its own clock; a local time only travels with a delete the master lacks.
    fc.assert(
      fc.property(consistentPairArb, ({ master, local }) => {
        fc.pre(master.isDeleted || local.isDeleted);
        expect(mergeMessage(master, local).deletedAt).toBe(master.isDeleted ? master.deletedAt : local.deletedAt);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a later edit cannot resurrect deleted content', () => {
    const master = sentMessage({ isDeleted: true, deletedAt: '2024-05-01T10:10:00.000Z', content: '' });
    const local = sentMessage({ content: 'edited', isEdited: true, editedAt: '2024-05-01T10:20:00.000Z' });
    const merged = mergeMessage(master, local);
    expect(merged).toMatchObject({ isDeleted: true, deletedAt: '2024-05-01T10:10:00.000Z', content: '', attachments: [] });
  });
});

describe('mergeMessage: server and identity fields come from the master', () => {
  it.each([...MESSAGE_SERVER_FIELDS, ...IDENTITY_FIELDS])('%s is the master value, whatever the local says', (field) => {
    fc.assert(
      fc.property(loosePairArb, ({ master, local }) => {
        expect(mergeMessage(master, local)[field]).toStrictEqual(master[field]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a pending local copy turns sent when merged with the accepted master', () => {
    const local = sentMessage({ seq: 0, sentAt: null, createdAt: '2024-05-01T09:59:59.000Z', updatedAt: '2024-05-01T09:59:59.000Z' });
    const master = sentMessage();
    expect(mergeMessage(master, local)).toStrictEqual(master);
  });

  it('a hostile local cannot rewrite sender, recipient or conversation', () => {
    const master = sentMessage();
    const local = sentMessage({ sender: BOB, recipient: 'mallory', conversation: 'c.mallory.x', messageType: 'system', seq: 999 });
    const merged = mergeMessage(master, local);
    expect(merged).toMatchObject({
      sender: master.sender,
      recipient: master.recipient,
      conversation: master.conversation,
      messageType: 'text',
      seq: 41,
    });
  });
});

describe('mergeMessage: content is last-writer-wins by editedAt', () => {
  it('the later edit of a different text wins content, attachments, isEdited and editedAt together', () => {
    fc.assert(
      fc.property(consistentPairArb, ({ master: m, local: l }) => {
        fc.pre(m.editedAt !== l.editedAt);
        fc.pre(m.content !== l.content || JSON.stringify(m.attachments) !== JSON.stringify(l.attachments));
        const master = { ...m, isDeleted: false, deletedAt: null };
        const local = { ...l, isDeleted: false, deletedAt: null };
        const winner = timeOf(local.editedAt) > timeOf(master.editedAt) ? local : master;
        expect(contentOf(mergeMessage(master, local))).toStrictEqual(contentOf(winner));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('on equal editedAt (both unedited included) the master keeps its content', () => {
    fc.assert(
      fc.property(consistentPairArb, ({ master, local: other }) => {
        const local = { ...other, editedAt: master.editedAt, isEdited: master.isEdited, isDeleted: false, deletedAt: null };
        const m = { ...master, isDeleted: false, deletedAt: null };
        expect(contentOf(mergeMessage(m, local))).toStrictEqual(contentOf(m));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a local content change that is not a later edit (e.g. a recipient tampering) resolves to the master exactly', () => {
    // So the resolved state equals the master and RxDB stops pushing it.
    fc.assert(
      fc.property(consistentMessageArb, contentArb, attachmentsArb, (stored, content, attachments) => {
        const master = { ...stored, deliveredAt: stored.deliveredAt ?? stored.readAt };
        const tampered = { ...master, content, attachments };
        expect(mergeMessage(master, tampered)).toStrictEqual(mergeMessage(master, master));
        if (!master.isDeleted) expect(mergeMessage(master, tampered)).toStrictEqual(master);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('the same text keeps the master edit stamp, whatever the local edit time (the server stamps editedAt)', () => {
    fc.assert(
      fc.property(consistentPairArb, ({ master: m, local: l }) => {
        const master = { ...m, isDeleted: false, deletedAt: null };
        const local = { ...l, content: m.content, attachments: m.attachments, isDeleted: false, deletedAt: null };
        expect(contentOf(mergeMessage(master, local))).toStrictEqual(contentOf(master));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never invents content: the result is the master text, the local text, or empty when deleted', () => {
    fc.assert(
      fc.property(loosePairArb, ({ master, local }) => {
        const merged = mergeMessage(master, local);
        const allowed = merged.isDeleted ? [''] : [master.content, local.content];
        expect(allowed).toContain(merged.content);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('an unedited stale copy does not overwrite an edit', () => {
    const master = sentMessage({ content: 'fixed typo', isEdited: true, editedAt: '2024-05-01T10:02:00.000Z' });
    const local = sentMessage({ content: 'zzz original' });
    expect(mergeMessage(master, local).content).toBe('fixed typo');
  });
});

describe('mergeMessage: concurrent edit by the sender and read by the recipient both survive', () => {
  /** A sent, undeleted base, an edit made later than any earlier edit, and a read. */
  const scenarioArb = fc
    .tuple(
      messageIdentityArb,
      consistentStateArb,
      serverFieldsArb,
      contentArb,
      isoDateArb,
      isoDateArb,
      fc.integer({ min: 1, max: 86_400_000 }),
    )
    .map(([identity, state, server, newContent, readAt, serverNow, editDelay]) => {
      const base = buildMessage(
        identity,
        { ...state, isRead: false, readAt: null, deliveredAt: null, isDeleted: false, deletedAt: null },
        server,
      );
      const editedAt = base.editedAt === null ? serverNow : addMs(base.editedAt, editDelay);
      const edited: WireMessage = { ...base, content: newContent, isEdited: true, editedAt };
      const read: WireMessage = { ...base, isRead: true, readAt, deliveredAt: readAt, seq: base.seq + 1, updatedAt: serverNow };
      return { edited, read };
    })
    // An edit changes the text (the client does not write an edit that leaves it as it was).
    .filter(({ edited, read }) => edited.content !== read.content);

  it('sender local edit + recipient read on the master', () => {
    fc.assert(
      fc.property(scenarioArb, ({ edited, read }) => {
        const merged = mergeMessage(read, edited);
        expect(contentOf(merged)).toStrictEqual(contentOf(edited));
        expect(merged).toMatchObject({
          isRead: true,
          readAt: read.readAt,
          deliveredAt: read.deliveredAt,
          seq: read.seq,
          updatedAt: read.updatedAt,
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('recipient local read + sender edit on the master', () => {
    fc.assert(
      fc.property(scenarioArb, ({ edited, read }) => {
        const merged = mergeMessage(edited, read);
        expect(contentOf(merged)).toStrictEqual(contentOf(edited));
        expect(merged).toMatchObject({ isRead: true, readAt: read.readAt });
        expect(merged.deliveredAt).not.toBeNull();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a worked example', () => {
    const read = sentMessage({ isRead: true, readAt: '2024-05-01T10:03:00.000Z', deliveredAt: '2024-05-01T10:02:00.000Z', seq: 42 });
    const edited = sentMessage({ content: 'hello (edited)', isEdited: true, editedAt: '2024-05-01T10:03:00.500Z' });
    expect(mergeMessage(read, edited)).toStrictEqual(
      sentMessage({
        content: 'hello (edited)',
        isEdited: true,
        editedAt: '2024-05-01T10:03:00.500Z',
        isRead: true,
        readAt: '2024-05-01T10:03:00.000Z',
        deliveredAt: '2024-05-01T10:02:00.000Z',
        seq: 42,
      }),
    );
  });
});

describe('mergeMessage: idempotent even when a flag disagrees with its timestamp', () => {
  it('an edit still waiting for its editedAt stamp, then deleted', () => {
    // Regression: wireMessageSchema accepts isEdited: true with editedAt: null. With the former
    // "larger content wins a tie" rule, the first merge took isEdited from the local side and the
    // second merge (content now '') from the master, so merge(m, merge(m, l)) !== merge(m, l).
    const master = sentMessage({ content: 'hello' });
    const local = sentMessage({ content: 'zzz', isEdited: true, editedAt: null, isDeleted: true, deletedAt: '2024-05-01T10:05:00.000Z' });
    expect(wireMessageSchema.safeParse(local).success).toBe(true);
    const once = mergeMessage(master, local);
    expect(mergeMessage(master, once)).toStrictEqual(once);
  });
});

describe('messageConflictHandler.resolve', () => {
  it('merges newDocumentState into realMasterState and ignores assumedMasterState', async () => {
    await fc.assert(
      fc.asyncProperty(loosePairArb, looseMessageArb, async ({ master, local }, assumed) => {
        const resolved = await messageConflictHandler.resolve(
          { assumedMasterState: assumed, realMasterState: master, newDocumentState: local },
          'test',
        );
        expect(resolved).toStrictEqual(mergeMessage(master, local));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

/**
 * mergeMessage orders times by comparing ISO strings, which is chronological only for canonical
 * `Date#toISOString()` strings. So the wire validator admits only that form: non-canonical times
 * (no milliseconds, an offset) are refused before they can reach a merge.
 */
describe('only canonical times reach the merge', () => {
  it.each([
    ['no fractional seconds', '2024-05-01T10:00:00Z'],
    ['a UTC offset', '2024-05-01T12:00:00.000+05:00'],
    ['microseconds', '2024-05-01T10:00:00.000001Z'],
  ])('the validator refuses editedAt with %s', (_label, editedAt) => {
    const doc = sentMessage({ content: 'edit', isEdited: true, editedAt });
    expect(wireMessageSchema.safeParse(doc).success).toBe(false);
  });

  it('with canonical times the later edit wins and the master delete time is kept', () => {
    const master = sentMessage({ content: 'later edit', isEdited: true, editedAt: '2024-05-01T10:00:00.500Z' });
    const local = sentMessage({ content: 'earlier edit', isEdited: true, editedAt: '2024-05-01T10:00:00.000Z' });
    expect(wireMessageSchema.safeParse(master).success && wireMessageSchema.safeParse(local).success).toBe(true);
    expect(mergeMessage(master, local).content).toBe('later edit');
    expect(mergeMessage(local, master).content).toBe('later edit');
    const d1 = sentMessage({ isDeleted: true, content: '', deletedAt: '2024-05-01T07:00:00.000Z' });
    const d2 = sentMessage({ isDeleted: true, content: '', deletedAt: '2024-05-01T10:00:00.000Z' });
    expect(mergeMessage(d2, d1).deletedAt).toBe('2024-05-01T10:00:00.000Z');
    expect(mergeMessage(d1, d2).deletedAt).toBe('2024-05-01T07:00:00.000Z');
  });
});
