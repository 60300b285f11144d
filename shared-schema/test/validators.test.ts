import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { newMessageDoc } from '../src/documents';
import { ERROR_CODES } from '../src/errors';
import { LIMITS } from '../src/protocol';
import {
  bulkBodySchema,
  CONVERSATION_CREATION_REQUIRED,
  checkpointSchema,
  conversationPushRowSchema,
  createConversationBodySchema,
  editMessageBodySchema,
  findForbiddenKey,
  loginBodySchema,
  MESSAGE_CREATION_REQUIRED,
  markConversationReadBodySchema,
  messagePushRowSchema,
  parseInput,
  pullRequestSchema,
  pushRequestSchema,
  registerBodySchema,
  searchQuerySchema,
  sendMessageBodySchema,
  userIdSchema,
  wireConversationCreationSchema,
  wireConversationSchema,
  wireMessageCreationSchema,
  wireMessageSchema,
} from '../src/validators';
import {
  ALICE,
  BOB,
  consistentMessageArb,
  conversationArb,
  looseMessageArb,
  MESSAGE_ID,
  NUM_RUNS,
  NUM_RUNS_FUZZ,
  PROTOTYPE_NAMES,
  sampleConversation,
  sampleMessage,
  sentMessage,
} from './arbitraries';

/** Every schema parseInput is used with, by name, for the fuzz properties. */
const ALL_SCHEMAS: Record<string, z.ZodType> = {
  pullRequestSchema,
  pushRequestSchema,
  messagePushRowSchema,
  conversationPushRowSchema,
  wireMessageSchema,
  wireConversationSchema,
  checkpointSchema,
  createConversationBodySchema,
  sendMessageBodySchema,
  editMessageBodySchema,
  bulkBodySchema,
  markConversationReadBodySchema,
  searchQuerySchema,
  registerBodySchema,
  loginBodySchema,
};
const schemaArb = fc.constantFrom(...Object.entries(ALL_SCHEMAS));

function expectCode(result: ReturnType<typeof parseInput>, code: (typeof ERROR_CODES)[number]) {
  expect(result.ok, JSON.stringify(result)).toBe(false);
  if (!result.ok) expect(result.code).toBe(code);
}

function expectOk(result: ReturnType<typeof parseInput>) {
  expect(result.ok, JSON.stringify(result)).toBe(true);
}

/** `depth` objects nested inside each other: nest(1) is { a: 1 }. */
function nest(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

const validPull = { collection: 'messages', checkpoint: { seq: 12 }, batchSize: 100 };

describe('parseInput: valid payloads pass', () => {
  it.each([
    ['pull with a checkpoint', pullRequestSchema, validPull],
    ['pull with a null checkpoint', pullRequestSchema, { collection: 'messages', checkpoint: null, batchSize: 1 }],
    ['pull without a checkpoint, largest batch', pullRequestSchema, { collection: 'conversations', batchSize: LIMITS.pullMaxBatch }],
    ['push envelope', pushRequestSchema, { collection: 'messages', rows: [] }],
    ['message push row', messagePushRowSchema, { newDocumentState: sentMessage() }],
    ['message push row with assumed master', messagePushRowSchema, { assumedMasterState: sentMessage(), newDocumentState: sentMessage() }],
    ['message push row with null assumed master', messagePushRowSchema, { assumedMasterState: null, newDocumentState: sentMessage() }],
    ['conversation push row', conversationPushRowSchema, { newDocumentState: sampleConversation() }],
    ['send with content of exactly the limit', sendMessageBodySchema, { content: 'x'.repeat(LIMITS.contentMaxLength) }],
    [
      'send with id, type and attachment',
      sendMessageBodySchema,
      {
        content: 'see file',
        id: MESSAGE_ID,
        messageType: 'file',
        attachments: [{ filename: 'a.pdf', url: 'https://files.example.com/a.pdf', size: 10, mimeType: 'application/pdf' }],
      },
    ],
    ['send with a ULID', sendMessageBodySchema, { content: 'hi', id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }],
    ['edit', editMessageBodySchema, { content: 'fixed' }],
    ['create conversation', createConversationBodySchema, { participantId: BOB, jobId: null }],
    ['bulk read', bulkBodySchema, { action: 'read', messageIds: [MESSAGE_ID] }],
    ['mark read without body', markConversationReadBodySchema, undefined],
    ['mark read with empty body', markConversationReadBodySchema, {}],
    ['search (limit from a query string)', searchQuerySchema, { q: ' hello ', limit: '20' }],
    ['register', registerBodySchema, { email: 'a@example.com', password: 'correct horse', name: 'Alice' }],
    ['login', loginBodySchema, { email: 'a@example.com', password: 'x' }],
  ])('%s', (_name, schema, input) => {
    expectOk(parseInput(schema as z.ZodType, input));
  });

  it('accepts every generated message and conversation and returns them unchanged', () => {
    fc.assert(
      fc.property(looseMessageArb, conversationArb, (message, conversation) => {
        const m = parseInput(messagePushRowSchema, { newDocumentState: message });
        const c = parseInput(conversationPushRowSchema, { newDocumentState: conversation });
        expect(m).toStrictEqual({ ok: true, value: { newDocumentState: message } });
        expect(c).toStrictEqual({ ok: true, value: { newDocumentState: conversation } });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('search trims q and coerces limit', () => {
    expect(parseInput(searchQuerySchema, { q: ' hi ', limit: '20' })).toStrictEqual({ ok: true, value: { q: 'hi', limit: 20 } });
  });
});

/**
 * docs/protocol.md, "Minimal creation": a client written from the documentation need not send
 * what the seed schema leaves optional or what only the server sets. The parsed row is always a
 * full document, so the rules downstream judge exactly what they judged before.
 */
describe('minimal creation: omitted fields are read as a new document’s', () => {
  const NEW_MESSAGE: Record<string, unknown> = {
    messageType: 'text',
    attachments: [],
    isRead: false,
    readAt: null,
    isEdited: false,
    editedAt: null,
    isDeleted: false,
    deletedAt: null,
    deliveredAt: null,
    seq: 0,
    sentAt: null,
    _deleted: false,
  };
  const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
  const draft = sampleMessage({ content: 'minimal' });
  const pick = <T extends object>(doc: T, keys: readonly string[]) =>
    Object.fromEntries(keys.map((k) => [k, (doc as Record<string, unknown>)[k]]));
  const minimal = pick(draft, MESSAGE_CREATION_REQUIRED);
  const parsedDoc = (row: unknown) => {
    const result = parseInput(messagePushRowSchema, row);
    expectOk(result);
    if (!result.ok) throw new Error(result.message);
    return result.value.newDocumentState as Record<string, unknown>;
  };

  it('a creation of only the required fields is a full new message (without and with a null assumed master)', () => {
    for (const row of [{ newDocumentState: minimal }, { assumedMasterState: null, newDocumentState: minimal }]) {
      const doc = parsedDoc(row);
      expect(wireMessageSchema.safeParse(doc).success).toBe(true);
      const { createdAt, updatedAt, ...rest } = doc;
      expect(createdAt).toMatch(ISO);
      expect(updatedAt).toMatch(ISO);
      const {
        createdAt: _c,
        updatedAt: _u,
        ...fresh
      } = newMessageDoc({
        ...(minimal as { id: string; conversation: string; sender: string; recipient: string; content: string }),
        at: String(createdAt),
      });
      expect(rest).toStrictEqual({ ...fresh, _deleted: false });
      expect(rest).toStrictEqual({ ...minimal, ...NEW_MESSAGE });
    }
  });

  it('any subset of the optional fields may be left out: each is its default, the others are kept', () => {
    const optional = Object.keys(draft).filter((k) => !(MESSAGE_CREATION_REQUIRED as readonly string[]).includes(k));
    const given = sampleMessage({
      messageType: 'file',
      attachments: [{ filename: 'a.pdf', url: 'https://files.example.com/a', size: 3, mimeType: 'application/pdf' }],
      isEdited: true,
      editedAt: '2024-05-01T10:00:05.000Z',
    });
    fc.assert(
      fc.property(fc.subarray(optional), (left) => {
        const row = { newDocumentState: Object.fromEntries(Object.entries(given).filter(([k]) => !left.includes(k))) };
        const doc = parsedDoc(row);
        for (const key of Object.keys(given)) {
          if (!left.includes(key)) expect(doc[key], key).toStrictEqual((given as unknown as Record<string, unknown>)[key]);
          else if (key in NEW_MESSAGE) expect(doc[key], key).toStrictEqual(NEW_MESSAGE[key]);
          else expect(doc[key], key).toMatch(ISO);
        }
      }),
      { numRuns: 300 },
    );
  });

  it.each(MESSAGE_CREATION_REQUIRED)('a creation without %s is refused, naming it', (key) => {
    const { [key]: _dropped, ...rest } = minimal;
    const result = parseInput(messagePushRowSchema, { newDocumentState: rest });
    expectCode(result, 'VALIDATION_FAILED');
    if (!result.ok) expect(result.message).toMatch(new RegExp(`^newDocumentState\\.${key}: `));
  });

  it('defaults still have to agree: isRead without readAt is refused', () => {
    expectCode(parseInput(messagePushRowSchema, { newDocumentState: { ...minimal, isRead: true } }), 'VALIDATION_FAILED');
  });

  it('a default is a fresh value on every parse (no shared array)', () => {
    const first = parsedDoc({ newDocumentState: minimal });
    (first.attachments as unknown[]).push('x');
    expect(parsedDoc({ newDocumentState: minimal }).attachments).toEqual([]);
  });

  it('an update row takes what its new state leaves out from its assumed master, never a default', () => {
    const master = sentMessage({
      attachments: [{ filename: 'a.pdf', url: 'https://files.example.com/a', size: 3, mimeType: 'application/pdf' }],
      deliveredAt: '2024-05-01T10:00:02.000Z',
    });
    const doc = parsedDoc({ assumedMasterState: master, newDocumentState: { content: 'edited', isEdited: true } });
    expect(doc).toStrictEqual({ ...master, content: 'edited', isEdited: true });
    // A full update row is read as it is.
    const full = { ...master, content: 'full' };
    expect(parsedDoc({ assumedMasterState: master, newDocumentState: full })).toStrictEqual(full);
  });

  it('a partial assumed master (the client’s own minimal creation) is read as that creation', () => {
    const result = parseInput(messagePushRowSchema, {
      assumedMasterState: minimal,
      newDocumentState: { ...minimal, content: 'v2', isEdited: true },
    });
    expectOk(result);
    if (!result.ok) return;
    const { assumedMasterState, newDocumentState } = result.value;
    expect(assumedMasterState).toMatchObject({ ...minimal, ...NEW_MESSAGE });
    // Server fields come from the same assumed state, so they cannot look forged.
    expect(newDocumentState).toStrictEqual({ ...assumedMasterState, content: 'v2', isEdited: true });
  });

  it('an update whose new state is not a JSON object is refused', () => {
    for (const value of [null, 'doc', 1, [], new Map(), new Date()]) {
      expectCode(parseInput(messagePushRowSchema, { assumedMasterState: sentMessage(), newDocumentState: value }), 'VALIDATION_FAILED');
    }
    expectCode(
      parseInput(messagePushRowSchema, { assumedMasterState: sentMessage(), newDocumentState: { ...sentMessage(), seq: 'x' } }),
      'VALIDATION_FAILED',
    );
  });

  it('the creation schemas accept exactly what the full ones accept when nothing is left out', () => {
    fc.assert(
      fc.property(looseMessageArb, conversationArb, (message, conversation) => {
        expect(wireMessageCreationSchema.parse(message)).toStrictEqual(message);
        expect(wireConversationCreationSchema.parse(conversation)).toStrictEqual(conversation);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a conversation creation needs its id and participants only; job is optional as in the seed schema', () => {
    const conv = sampleConversation();
    const result = parseInput(conversationPushRowSchema, { newDocumentState: pick(conv, CONVERSATION_CREATION_REQUIRED) });
    expectOk(result);
    if (!result.ok) return;
    const { lastActivity, createdAt, updatedAt, ...rest } = result.value.newDocumentState;
    expect([lastActivity, createdAt, updatedAt].every((t) => ISO.test(t))).toBe(true);
    expect(rest).toStrictEqual({
      id: conv.id,
      participants: conv.participants,
      job: null,
      lastMessage: null,
      isActive: true,
      unreadCount: {},
      participantNames: {},
      seq: 0,
      _deleted: false,
    });
    for (const key of CONVERSATION_CREATION_REQUIRED) {
      const { [key]: _dropped, ...rest2 } = pick(conv, CONVERSATION_CREATION_REQUIRED);
      expectCode(parseInput(conversationPushRowSchema, { newDocumentState: rest2 }), 'VALIDATION_FAILED');
    }
  });
});

describe('parseInput: wrong types and missing fields -> VALIDATION_FAILED', () => {
  const msg = sentMessage();
  it.each([
    ['batchSize as a string', pullRequestSchema, { ...validPull, batchSize: '10' }],
    ['collection as a number', pullRequestSchema, { ...validPull, collection: 1 }],
    ['missing batchSize', pullRequestSchema, { collection: 'messages' }],
    ['missing collection', pullRequestSchema, { batchSize: 10 }],
    ['rows not an array', pushRequestSchema, { collection: 'messages', rows: {} }],
    ['payload not an object', pullRequestSchema, 'pull'],
    ['payload null', pullRequestSchema, null],
    ['payload an array', pullRequestSchema, [validPull]],
    ['isRead as a string', messagePushRowSchema, { newDocumentState: { ...msg, isRead: 'true' } }],
    ['seq negative', messagePushRowSchema, { newDocumentState: { ...msg, seq: -1 } }],
    ['seq fractional', messagePushRowSchema, { newDocumentState: { ...msg, seq: 1.5 } }],
    ['readAt not ISO', messagePushRowSchema, { newDocumentState: { ...msg, readAt: 'yesterday' } }],
    ['createdAt date only', messagePushRowSchema, { newDocumentState: { ...msg, createdAt: '2024-05-01' } }],
    ['id not a UUID/ULID', messagePushRowSchema, { newDocumentState: { ...msg, id: 'msg-1' } }],
    ['conversation not derived', messagePushRowSchema, { newDocumentState: { ...msg, conversation: 'general' } }],
    ['sender with a dot', messagePushRowSchema, { newDocumentState: { ...msg, sender: 'a.b' } }],
    ['unknown messageType', messagePushRowSchema, { newDocumentState: { ...msg, messageType: 'video' } }],
    ['missing content', messagePushRowSchema, { newDocumentState: (({ content, ...rest }) => rest)(msg) }],
    ['creation missing id', messagePushRowSchema, { newDocumentState: (({ id, ...rest }) => rest)(msg) }],
    [
      'creation missing recipient',
      messagePushRowSchema,
      { assumedMasterState: null, newDocumentState: (({ recipient, ...rest }) => rest)(msg) },
    ],
    [
      'conversation creation missing participants',
      conversationPushRowSchema,
      { newDocumentState: (({ participants, ...rest }) => rest)(sampleConversation()) },
    ],
    ['missing newDocumentState', messagePushRowSchema, { assumedMasterState: msg }],
    [
      'attachment with a javascript: url',
      messagePushRowSchema,
      { newDocumentState: { ...msg, attachments: [{ filename: 'x', url: 'javascript:alert(1)', size: 1, mimeType: 'text/plain' }] } },
    ],
    [
      'too many attachments',
      messagePushRowSchema,
      {
        newDocumentState: {
          ...msg,
          attachments: Array.from({ length: LIMITS.attachmentsMax + 1 }, () => ({
            filename: 'x',
            url: 'https://e.com/x',
            size: 1,
            mimeType: 'text/plain',
          })),
        },
      },
    ],
    ['three participants', conversationPushRowSchema, { newDocumentState: sampleConversation({ participants: [ALICE, BOB, 'carol'] }) }],
    ['negative unread count', conversationPushRowSchema, { newDocumentState: sampleConversation({ unreadCount: { [ALICE]: -1 } }) }],
    ['system message over REST', sendMessageBodySchema, { content: 'hi', messageType: 'system' }],
    ['empty edit', editMessageBodySchema, { content: '' }],
    ['bulk with no ids', bulkBodySchema, { action: 'read', messageIds: [] }],
    [
      'bulk with too many ids',
      bulkBodySchema,
      { action: 'read', messageIds: Array.from({ length: LIMITS.bulkMaxIds + 1 }, () => MESSAGE_ID) },
    ],
    ['bulk unknown action', bulkBodySchema, { action: 'purge', messageIds: [MESSAGE_ID] }],
    ['search blank q', searchQuerySchema, { q: '   ' }],
    ['register short password', registerBodySchema, { email: 'a@example.com', password: 'short', name: 'A' }],
    ['login bad email', loginBodySchema, { email: 'not-an-email', password: 'x' }],
  ])('%s', (_name, schema, input) => {
    expectCode(parseInput(schema as z.ZodType, input), 'VALIDATION_FAILED');
  });

  it('names the first bad field in the message', () => {
    const result = parseInput(pullRequestSchema, { ...validPull, batchSize: '10' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(/^batchSize: /);
    const nested = parseInput(messagePushRowSchema, { newDocumentState: { ...sentMessage(), seq: -1 } });
    if (!nested.ok) expect(nested.message).toMatch(/^newDocumentState\.seq: /);
    expect(nested.ok).toBe(false);
  });
});

describe('parseInput: unknown keys -> VALIDATION_FAILED (objects are strict)', () => {
  it.each([
    ['pull', pullRequestSchema, { ...validPull, extra: 1 }],
    ['checkpoint', pullRequestSchema, { ...validPull, checkpoint: { seq: 1, ts: 2 } }],
    ['message document', messagePushRowSchema, { newDocumentState: { ...sentMessage(), _rev: '1-abc' } }],
    ['push row', messagePushRowSchema, { newDocumentState: sentMessage(), extra: true }],
    [
      'attachment',
      sendMessageBodySchema,
      { content: 'x', attachments: [{ filename: 'a', url: 'https://e.com/a', size: 1, mimeType: 'a/b', path: '/etc' }] },
    ],
    ['send body carrying a server field', sendMessageBodySchema, { content: 'x', sentAt: '2024-05-01T10:00:00.000Z' }],
    ['mark read body', markConversationReadBodySchema, { all: true }],
  ])('%s', (_name, schema, input) => {
    expectCode(parseInput(schema as z.ZodType, input), 'VALIDATION_FAILED');
  });

  it('drops nothing silently: any extra key on a valid message is refused', () => {
    const keyArb = fc.stringMatching(/^[a-z][a-zA-Z]{0,10}$/).filter((k) => !PROTOTYPE_NAMES.includes(k));
    const valueArb = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer()));
    fc.assert(
      fc.property(consistentMessageArb, keyArb, valueArb, (m, key, value) => {
        fc.pre(!Object.hasOwn(m, key));
        expectCode(parseInput(wireMessageSchema, { ...m, [key]: value }), 'VALIDATION_FAILED');
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('parseInput: content over the limit -> CONTENT_TOO_LONG', () => {
  const tooLong = 'x'.repeat(LIMITS.contentMaxLength + 1);
  it.each([
    ['send body', sendMessageBodySchema, { content: tooLong }],
    ['edit body', editMessageBodySchema, { content: tooLong }],
    ['message push row', messagePushRowSchema, { newDocumentState: sentMessage({ content: tooLong }) }],
    ['message document', wireMessageSchema, sentMessage({ content: tooLong })],
    ['send body that also has another error', sendMessageBodySchema, { content: tooLong, messageType: 'video' }],
  ])('%s', (_name, schema, input) => {
    expectCode(parseInput(schema as z.ZodType, input), 'CONTENT_TOO_LONG');
  });

  it('is exactly the boundary: 2000 passes, 2001 is too long, for any length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: LIMITS.contentMaxLength * 2 }), (length) => {
        const result = parseInput(sendMessageBodySchema, { content: 'a'.repeat(length) });
        if (length <= LIMITS.contentMaxLength) expectOk(result);
        else expectCode(result, 'CONTENT_TOO_LONG');
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseInput: hostile keys -> FORBIDDEN_KEY', () => {
  it.each([
    ['own __proto__ at the top', pullRequestSchema, JSON.parse('{"collection":"messages","batchSize":1,"__proto__":{"admin":true}}')],
    ['own __proto__ as the only key', checkpointSchema, JSON.parse('{"__proto__":1}')],
    [
      'own __proto__ inside a document',
      messagePushRowSchema,
      { newDocumentState: { ...sentMessage(), ...JSON.parse('{"__proto__":{"isRead":true}}') } },
    ],
    ['constructor', sendMessageBodySchema, { content: 'x', constructor: { prototype: { polluted: true } } }],
    ['prototype', sendMessageBodySchema, { content: 'x', prototype: 1 }],
    ['$-operator', bulkBodySchema, { action: 'read', messageIds: { $ne: null } }],
    ['$-key nested in an array', pushRequestSchema, { collection: 'messages', rows: [{ newDocumentState: { $set: { seq: 0 } } }] }],
    ['$where at the top', loginBodySchema, { email: 'a@example.com', password: 'x', $where: 'sleep(1000)' }],
    [
      'unread map keyed by __proto__',
      conversationPushRowSchema,
      { newDocumentState: { ...sampleConversation(), unreadCount: JSON.parse('{"__proto__":5}') } },
    ],
  ])('%s', (_name, schema, input) => {
    expectCode(parseInput(schema as z.ZodType, input), 'FORBIDDEN_KEY');
  });

  it('JSON.parse gives an own __proto__ key, which the scan sees and the prototype does not change', () => {
    const input = JSON.parse('{"__proto__":1}');
    expect(Object.keys(input)).toEqual(['__proto__']);
    expect(findForbiddenKey(input)).toBe('key "__proto__" is not allowed');
  });

  it('a forbidden key anywhere up to the depth limit is found', () => {
    const keyArb = fc.oneof(
      fc.constantFrom('__proto__', 'constructor', 'prototype'),
      fc.string({ maxLength: 8 }).map((s) => `$${s}`),
    );
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 3 }),
        keyArb,
        fc.integer({ min: 0, max: 8 }),
        fc.jsonValue({ maxDepth: 2 }),
        (host, key, depth, payload) => {
          // Bury { [key]: payload } `depth` levels down, inside arrays and objects alternately.
          let value: unknown = JSON.parse(`{${JSON.stringify(key)}:${JSON.stringify(payload)}}`);
          for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { wrap: value };
          const input = { data: host, hidden: value };
          expect(findForbiddenKey({ hidden: value })).not.toBeNull();
          expectCode(parseInput(pushRequestSchema, input), 'FORBIDDEN_KEY');
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

/**
 * User ids key a conversation's unreadCount and participantNames, and the forbidden-key scan
 * refuses `__proto__`, `constructor` and `prototype` as keys; so userIdSchema refuses them as ids
 * (fast-check found `participants: ['constructor', 'A']` before this rule existed).
 */
describe('object-reserved names are not user ids', () => {
  it.each(PROTOTYPE_NAMES)('refuses the user id %s, as a participant and in a REST body', (name) => {
    expect(userIdSchema.safeParse(name).success).toBe(false);
    expect(createConversationBodySchema.safeParse({ participantId: name }).success).toBe(false);
  });
});

describe('parseInput: deep nesting -> FORBIDDEN_KEY', () => {
  it('nine nested objects are scanned normally; ten are refused as too deep', () => {
    expect(findForbiddenKey(nest(9))).toBeNull();
    expect(findForbiddenKey(nest(10))).toBe('nesting too deep');
    expectCode(parseInput(pullRequestSchema, nest(9)), 'VALIDATION_FAILED');
    expectCode(parseInput(pullRequestSchema, nest(10)), 'FORBIDDEN_KEY');
  });

  it('deeply nested arrays count too', () => {
    let value: unknown = [];
    for (let i = 0; i < 20; i++) value = [value];
    expectCode(parseInput(pushRequestSchema, { collection: 'messages', rows: value }), 'FORBIDDEN_KEY');
  });

  it('a hundred thousand levels neither overflow the stack nor throw', () => {
    expect(() => parseInput(pullRequestSchema, nest(100_000))).not.toThrow();
    expectCode(parseInput(pullRequestSchema, nest(100_000)), 'FORBIDDEN_KEY');
  });

  it('the deepest valid payload (push envelope > row > document > attachments) is not too deep', () => {
    const doc = sentMessage({ attachments: [{ filename: 'a', url: 'https://e.com/a', size: 1, mimeType: 'a/b' }] });
    expectOk(parseInput(pushRequestSchema, { collection: 'messages', rows: [{ assumedMasterState: doc, newDocumentState: doc }] }));
    expectOk(parseInput(pushRequestSchema, { collection: 'conversations', rows: [{ newDocumentState: sampleConversation() }] }));
  });
});

describe('parseInput: batchSize and checkpoint', () => {
  it.each([0, -1, LIMITS.pullMaxBatch + 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, null])('batchSize %s is refused', (batchSize) => {
    expectCode(parseInput(pullRequestSchema, { ...validPull, batchSize }), 'VALIDATION_FAILED');
  });

  it('any integer batchSize passes exactly when 1 <= batchSize <= pullMaxBatch', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: LIMITS.pullMaxBatch + 10 }), (batchSize) => {
        const result = parseInput(pullRequestSchema, { ...validPull, batchSize });
        expect(result.ok).toBe(batchSize >= 1 && batchSize <= LIMITS.pullMaxBatch);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['negative seq', { seq: -1 }],
    ['fractional seq', { seq: 0.5 }],
    ['seq as a string', { seq: '5' }],
    ['seq beyond safe integers', { seq: Number.MAX_SAFE_INTEGER + 2 }],
    ['empty object', {}],
    ['extra key', { seq: 1, id: 'x' }],
    ['a number', 5],
    ['a string', 'seq:5'],
    ['an array', [5]],
  ])('malformed checkpoint: %s', (_name, checkpoint) => {
    expectCode(parseInput(pullRequestSchema, { ...validPull, checkpoint }), 'VALIDATION_FAILED');
  });

  it('any safe non-negative integer seq is a valid checkpoint', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (seq) => {
        expect(parseInput(pullRequestSchema, { ...validPull, checkpoint: { seq } })).toStrictEqual({
          ok: true,
          value: { ...validPull, checkpoint: { seq } },
        });
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseInput never throws on hostile input', () => {
  const ALLOWED = new Set<string>(ERROR_CODES);
  /** Only these three codes come out of parseInput; all are in ERROR_CODES. */
  const PARSE_CODES = ['VALIDATION_FAILED', 'CONTENT_TOO_LONG', 'FORBIDDEN_KEY'];

  function check(schema: z.ZodType, input: unknown) {
    let result: ReturnType<typeof parseInput> | undefined;
    expect(() => {
      result = parseInput(schema, input);
    }).not.toThrow();
    if (result === undefined) throw new Error('no result');
    if (!result.ok) {
      expect(ALLOWED.has(result.code)).toBe(true);
      expect(PARSE_CODES).toContain(result.code);
      expect(typeof result.message).toBe('string');
      expect(result.message.length).toBeGreaterThan(0);
    }
  }

  it('random JSON (fc.jsonValue) against every schema', () => {
    fc.assert(
      fc.property(schemaArb, fc.jsonValue(), ([, schema], input) => check(schema, input)),
      { numRuns: NUM_RUNS_FUZZ },
    );
  });

  it('random JS values (fc.anything with null prototypes, Maps, Dates, sparse arrays...) against every schema', () => {
    const anything = fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withNullPrototype: true,
      withObjectString: true,
      withSet: true,
      withSparseArray: true,
      withTypedArray: true,
      withUnicodeString: true,
    });
    fc.assert(
      fc.property(schemaArb, anything, ([, schema], input) => check(schema, input)),
      { numRuns: NUM_RUNS_FUZZ },
    );
  });

  it('valid payloads with one field replaced by random JSON', () => {
    const msg = sentMessage();
    const fields = Object.keys(msg) as (keyof typeof msg)[];
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.jsonValue(), (field, value) => {
        check(messagePushRowSchema, { newDocumentState: { ...msg, [field]: value } });
      }),
      { numRuns: NUM_RUNS_FUZZ },
    );
  });
});

describe('parseInput: strings must be well-formed Unicode', () => {
  const send = (content: string) => parseInput(sendMessageBodySchema, { content });

  it('accepts surrogate pairs (emoji, astral letters)', () => {
    expectOk(send('ok \ud83d\ude00 𝔥𝔢𝔩𝔩𝔬'));
  });

  it('refuses a lone surrogate in a value, in a key, at any depth, naming where', () => {
    for (const lone of ['\ud800', 'x\udbff', '\udc00y', 'a\ude00\ud83d']) {
      const result = send(`hi ${lone}`);
      expectCode(result, 'VALIDATION_FAILED');
      if (!result.ok) expect(result.message).toMatch(/^content: must be well-formed Unicode/);
    }
    expectCode(parseInput(sendMessageBodySchema, { content: 'x', '\ud800': 1 }), 'VALIDATION_FAILED');
    const row = { newDocumentState: { ...sentMessage(), attachments: [{ filename: '\udfff.png', url: 'https://a.example/x', size: 1, mimeType: 'image/png' }] } };
    const result = parseInput(messagePushRowSchema, row);
    expectCode(result, 'VALIDATION_FAILED');
    if (!result.ok) expect(result.message).toMatch(/^newDocumentState\.attachments\.0\.filename:/);
  });

  it('a forbidden key anywhere wins over a lone surrogate met before it (one walk finds both)', () => {
    const input = JSON.parse('{"newDocumentState":{"content":"\\ud800","x":{"constructor":1}}}');
    expectCode(parseInput(messagePushRowSchema, input), 'FORBIDDEN_KEY');
    expectCode(parseInput(messagePushRowSchema, { newDocumentState: { content: '\ud800', x: { y: 1 } } }), 'VALIDATION_FAILED');
  });

  it('shallow parsing looks at the top level only, so one row is refused on its own', () => {
    const rows = [{ newDocumentState: { ...sentMessage(), content: '\ud800' } }];
    expectOk(parseInput(pushRequestSchema, { collection: 'messages', rows }, { shallow: true }));
    expectCode(parseInput(pushRequestSchema, { collection: '\ud800', rows }, { shallow: true }), 'VALIDATION_FAILED');
  });

  it('any string with a lone surrogate inserted is refused, any well-formed one passes the scan', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.nat(), fc.integer({ min: 0xd800, max: 0xdfff }), (text, at, unit) => {
        expectOk(send(text.slice(0, LIMITS.contentMaxLength)));
        const i = Math.min(at, text.length);
        const lone = String.fromCharCode(unit);
        // Keep it lone: never next to a unit it would pair with.
        const broken = `${text.slice(0, i)} ${lone} ${text.slice(i)}`;
        expectCode(send(broken), 'VALIDATION_FAILED');
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
