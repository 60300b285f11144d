import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonEqual } from '../src/conflict/equality';
import { messageConflictHandler, sameClientMessageState } from '../src/conflict/message-conflict';
import { MESSAGE_SERVER_FIELDS } from '../src/documents';
import {
  attachmentArb,
  consistentMessageArb,
  contentArb,
  isoDateArb,
  looseMessageArb,
  messageIdentityArb,
  NUM_RUNS,
  sentMessage,
  serverFieldsArb,
  type WireMessage,
} from './arbitraries';

/** JSON text with sorted keys: the reference notion of "same JSON value". */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

const isEqual = (a: WireMessage, b: WireMessage) => messageConflictHandler.isEqual(a, b, 'test');

describe('jsonEqual', () => {
  it('agrees with comparing canonical JSON text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(jsonEqual(a, b)).toBe(canonical(a) === canonical(b));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('is reflexive over copies and symmetric', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(jsonEqual(a, structuredClone(a))).toBe(true);
        expect(jsonEqual(a, b)).toBe(jsonEqual(b, a));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('ignores key order and undefined-valued keys, but not array order or array-vs-object', () => {
    expect(jsonEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
    expect(jsonEqual({ a: null }, { a: {} })).toBe(false);
    expect(jsonEqual({ a: 1 }, { b: 1 })).toBe(false);
    expect(jsonEqual({ a: { b: 1 } }, { a: { b: 2 } })).toBe(false);
  });
});

describe('messageConflictHandler.isEqual is full equality', () => {
  it('agrees with canonical JSON equality on any two documents', () => {
    fc.assert(
      fc.property(looseMessageArb, looseMessageArb, (a, b) => {
        expect(isEqual(a, b)).toBe(canonical(a) === canonical(b));
        expect(isEqual(a, structuredClone(a))).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('sees a change to any single field', () => {
    fc.assert(
      fc.property(
        consistentMessageArb,
        looseMessageArb,
        fc.constantFrom(...(Object.keys(sentMessage()) as (keyof WireMessage)[])),
        (a, other, field) => {
          fc.pre(canonical(a[field]) !== canonical(other[field]));
          expect(isEqual(a, { ...a, [field]: other[field] })).toBe(false);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  // RxDB's downstream (replication-protocol/downstream.js, 'downstream-check-if-equal-1') skips
  // writing a pulled master document that isEqual calls equal to the local fork state. If isEqual
  // ignored sentAt/seq, the server's echo of a pending message (sentAt now set, seq assigned) would
  // never be written locally and the message would show as pending forever.
  it('a pending copy and its server echo differ (sentAt and seq)', () => {
    const pending = sentMessage({ seq: 0, sentAt: null });
    expect(isEqual(pending, sentMessage())).toBe(false);
    expect(isEqual(sentMessage(), sentMessage({ sentAt: '2024-05-01T10:00:02.000Z' }))).toBe(false);
    expect(isEqual(sentMessage(), sentMessage({ seq: 42 }))).toBe(false);
    expect(isEqual(sentMessage(), sentMessage())).toBe(true);
  });
});

describe('sameClientMessageState', () => {
  /** Replaces every set timestamp by another set timestamp; null stays null. */
  const retimedArb = fc.tuple(consistentMessageArb, fc.array(isoDateArb, { minLength: 4, maxLength: 4 })).map(([m, [t1, t2, t3, t4]]) => ({
    original: m,
    retimed: {
      ...m,
      readAt: m.readAt === null ? null : t1,
      deliveredAt: m.deliveredAt === null ? null : t2,
      editedAt: m.editedAt === null ? null : t3,
      deletedAt: m.deletedAt === null ? null : t4,
    } as WireMessage,
  }));

  it('is reflexive and symmetric', () => {
    fc.assert(
      fc.property(looseMessageArb, looseMessageArb, (a, b) => {
        expect(sameClientMessageState(a, structuredClone(a))).toBe(true);
        expect(sameClientMessageState(a, b)).toBe(sameClientMessageState(b, a));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('ignores the server fields (seq, sentAt, createdAt, updatedAt)', () => {
    fc.assert(
      fc.property(looseMessageArb, serverFieldsArb, (m, server) => {
        expect(sameClientMessageState(m, { ...m, ...server })).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(MESSAGE_SERVER_FIELDS).toEqual(['seq', 'sentAt', 'createdAt', 'updatedAt']);
  });

  it('ignores the values of receipt and edit/delete times, as long as set stays set', () => {
    fc.assert(
      fc.property(retimedArb, ({ original, retimed }) => {
        expect(sameClientMessageState(original, retimed)).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('sees different content or attachments on a live message', () => {
    fc.assert(
      fc.property(consistentMessageArb, contentArb, attachmentArb, (m, content, attachment) => {
        const live = { ...m, isDeleted: false, deletedAt: null };
        fc.pre(content !== live.content);
        expect(sameClientMessageState(live, { ...live, content })).toBe(false);
        expect(sameClientMessageState(live, { ...live, attachments: [...live.attachments, attachment] })).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('ignores content, attachments and isEdited once both sides are deleted', () => {
    fc.assert(
      fc.property(consistentMessageArb, contentArb, attachmentArb, (m, content, attachment) => {
        const deleted = { ...m, isDeleted: true, deletedAt: m.deletedAt ?? '2024-05-01T10:00:00.000Z' };
        const other = { ...deleted, content, attachments: [attachment], isEdited: !deleted.isEdited };
        expect(sameClientMessageState(deleted, other)).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it.each([
    ['isRead', (m: WireMessage): WireMessage => ({ ...m, isRead: !m.isRead })],
    [
      'delivered (set vs unset)',
      (m: WireMessage): WireMessage => ({ ...m, deliveredAt: m.deliveredAt === null ? '2024-05-01T10:00:00.000Z' : null }),
    ],
    ['isDeleted', (m: WireMessage): WireMessage => ({ ...m, isDeleted: !m.isDeleted })],
    ['_deleted', (m: WireMessage): WireMessage => ({ ...m, _deleted: !m._deleted })],
  ])('sees a flipped %s', (_name, flip) => {
    fc.assert(
      fc.property(looseMessageArb, (m) => {
        expect(sameClientMessageState(m, flip(m))).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('sees a flipped isEdited on a live message', () => {
    fc.assert(
      fc.property(looseMessageArb, (m) => {
        const live = { ...m, isDeleted: false };
        expect(sameClientMessageState(live, { ...live, isEdited: !live.isEdited })).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('sees a different identity (id, conversation, sender, recipient, messageType)', () => {
    fc.assert(
      fc.property(
        looseMessageArb,
        messageIdentityArb,
        fc.constantFrom('id', 'conversation', 'sender', 'recipient', 'messageType' as const),
        (m, identity, field) => {
          fc.pre(identity[field] !== m[field]);
          expect(sameClientMessageState(m, { ...m, [field]: identity[field] })).toBe(false);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('treats the client copy RxDB keeps as assumed master and the stamped stored state as the same', () => {
    // TOOLCHAIN.md: after a push RxDB stores the client's own document as the assumed master; the
    // server meanwhile stamped sentAt/seq/createdAt and its own edit time. A second edit pushed with
    // that assumed master must not be taken for a conflict.
    const clientCopy = sentMessage({
      seq: 0,
      sentAt: null,
      createdAt: '2024-05-01T09:59:58.000Z',
      updatedAt: '2024-05-01T09:59:59.000Z',
      content: 'first edit',
      isEdited: true,
      editedAt: '2024-05-01T09:59:59.000Z',
    });
    const stored = sentMessage({ content: 'first edit', isEdited: true, editedAt: '2024-05-01T10:00:03.000Z', seq: 77 });
    expect(sameClientMessageState(clientCopy, stored)).toBe(true);
    expect(isEqual(clientCopy, stored)).toBe(false);
    expect(sameClientMessageState(clientCopy, { ...stored, content: 'someone else' })).toBe(false);
  });
});
