/**
 * Property-based hostile input over every socket event and every REST route. Every generated
 * input is one the server must refuse: malformed (wrong types, missing or extra keys, `__proto__`,
 * `constructor`, `$`-operators, deep nesting, huge strings and arrays, lone surrogates, invalid
 * UTF-8 bytes, non-JSON bodies, wrong content types) or well-formed but unauthorised (a forged
 * sender, a stranger's write, a recipient's edit, forged server fields). For each one:
 *
 * - the answer is a coded error `{ error: { code, message } }` with a code from ERROR_CODES and
 *   never INTERNAL (an INTERNAL would be a handler that threw), or a push answered row by row with
 *   every row rejected with such a code; REST's legacy auth answers keep their strings; an
 *   oversized or malformed frame closes the connection;
 * - never a stack trace, never an HTML page;
 * - the store digest (every row of the store) is the same after as before;
 * - the process stays up: at the end /health is ok and a fresh client can still write and read.
 *
 * Seeded by FUZZ_SEED when set (fast-check prints the seed of a failing run); FUZZ_SCALE multiplies
 * the number of cases.
 */
import {
  COLLECTIONS,
  CONVERSATION_CREATION_REQUIRED,
  ERROR_CODES,
  LIMITS,
  MESSAGE_CREATION_REQUIRED,
  type MessageDoc,
  type Wire,
} from '@fetchwork/shared-schema';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { io as ioClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftConversation, draftMessage } from './support/docs';
import {
  anyValue,
  breakObject,
  deepValue,
  HOSTILE_KEYS,
  hugeString,
  loneSurrogateString,
  type Shape,
  smallString,
  wireSize,
  withOwn,
} from './support/hostile-arbitraries';
import { storeDigest } from './support/store-digest';
import {
  type ClientSocket,
  connect,
  newUserId,
  pull,
  push,
  startTestServer,
  TEST_SECRET,
  type TestServer,
  tokenFor,
} from './support/test-server';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
/** FUZZ_SCALE=10 runs ten times the cases (a long hunt); the default run keeps the suite fast. */
const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1));
let casesRun = 0;
const params = (numRuns: number) => ({ numRuns: Math.round(numRuns * SCALE), seed: SEED });

/** How many generated cases each property runs; their sum is the run's total. */
const RUNS = {
  pull: 120,
  pushMessages: 250,
  pushConversations: 150,
  typing: 80,
  delivered: 80,
  reads: 150,
  unknownEvents: 60,
  withoutAck: 60,
  rawFrames: 50,
  oversizedFrames: 8,
  rest: 500,
};

const SECRET_MARK = 'SECRET-AB';
const CODES: readonly string[] = ERROR_CODES;
const LEGACY_AUTH = ['Access token required', 'Invalid token'];
const STACK = /\n\s+at |\.ts:\d+:\d+|node_modules|Error: /;

let server: TestServer;
let maxFrame: number;
const A = newUserId();
const B = newUserId();
const C = newUserId();
const D = newUserId();
const token = { A: tokenFor(A), B: tokenFor(B), C: tokenFor(C) };
let a: ClientSocket;
let b: ClientSocket;
let c: ClientSocket;
let aQuiet: ClientSocket;
const typingPool: { a: ClientSocket[]; c: ClientSocket[] } = { a: [], c: [] };
let AB: string;
let CD: string;
/** m1: A→B unread; m2: B→A, read by A; m3: A→B, deleted by A. Stored states as pulled. */
const stored: { m1: Wire<MessageDoc>; m2: Wire<MessageDoc>; m3: Wire<MessageDoc>; ab: any } = {} as any;
const streamed: { who: string; event: unknown }[] = [];
const typingSeenByB: unknown[] = [];

beforeAll(async () => {
  server = await startTestServer({
    // The fuzz sends hundreds of events from one IP and a few sockets; abuse limits have their own test.
    rateLimits: { httpRequestsPerMinute: 1_000_000, socketEventsPerSecond: 1_000_000, socketsPerUser: 1_000 },
  });
  maxFrame = (server.io.engine as unknown as { opts: { maxHttpBufferSize: number } }).opts.maxHttpBufferSize;
  [a, b, c, aQuiet] = await Promise.all([connect(server.url, token.A), connect(server.url, token.B), connect(server.url, token.C), connect(server.url, token.A)]);
  const ab = draftConversation(A, B);
  const cd = draftConversation(C, D);
  AB = ab.id;
  CD = cd.id;
  expect(await push(a, { collection: 'conversations', rows: [{ newDocumentState: ab }] })).toEqual({ conflicts: [], rejected: [] });
  expect(await push(c, { collection: 'conversations', rows: [{ newDocumentState: cd }] })).toEqual({ conflicts: [], rejected: [] });
  const m1 = draftMessage(AB, A, B, `${SECRET_MARK} one`);
  const m2 = draftMessage(AB, B, A, `${SECRET_MARK} two`);
  const m3 = draftMessage(AB, A, B, `${SECRET_MARK} three`);
  expect(await push(a, { collection: 'messages', rows: [{ newDocumentState: m1 }, { newDocumentState: m3 }] })).toEqual({ conflicts: [], rejected: [] });
  expect(await push(b, { collection: 'messages', rows: [{ newDocumentState: m2 }] })).toEqual({ conflicts: [], rejected: [] });
  const now = new Date().toISOString();
  let docs = (await pull(a, { collection: 'messages', checkpoint: null, batchSize: 100 })).documents as Wire<MessageDoc>[];
  const byId = (id: string) => docs.find((d) => d.id === id)!;
  const readM2 = { ...byId(m2.id), isRead: true, readAt: now, deliveredAt: now };
  const deleteM3 = { ...byId(m3.id), isDeleted: true, content: '' };
  const changes = [
    { assumedMasterState: byId(m2.id), newDocumentState: readM2 },
    { assumedMasterState: byId(m3.id), newDocumentState: deleteM3 },
  ];
  expect(await push(a, { collection: 'messages', rows: changes })).toEqual({ conflicts: [], rejected: [] });
  docs = (await pull(a, { collection: 'messages', checkpoint: null, batchSize: 100 })).documents;
  stored.m1 = byId(m1.id);
  stored.m2 = byId(m2.id);
  stored.m3 = byId(m3.id);
  expect(stored.m2.isRead && stored.m3.isDeleted && !stored.m1.isRead).toBe(true);
  stored.ab = (await pull(a, { collection: 'conversations', checkpoint: null, batchSize: 10 })).documents[0];
  for (let i = 0; i < 4; i++) typingPool.a.push(await connect(server.url, token.A));
  for (let i = 0; i < 8; i++) typingPool.c.push(await connect(server.url, token.C));
  // From here on nothing may be written, so nobody may be streamed anything.
  for (const [who, socket] of Object.entries({ a, b, c, aQuiet })) socket.on('sync:stream', (event) => streamed.push({ who, event }));
  b.on('typing:start', (e) => typingSeenByB.push(e));
  b.on('typing:stop', (e) => typingSeenByB.push(e));
});

afterAll(async () => {
  for (const s of [a, b, c, aQuiet, ...typingPool.a, ...typingPool.c]) s?.close();
  await server?.stop();
});

// Oracles ------------------------------------------------------------------------------------

function expectCodedError(answer: any, context: string): void {
  expect(answer, context).toBeTypeOf('object');
  expect(answer?.error, context).toBeTypeOf('object');
  expect(CODES, `${context}: ${JSON.stringify(answer).slice(0, 300)}`).toContain(answer.error.code);
  expect(answer.error.code, `${context}: ${answer.error.message}`).not.toBe('INTERNAL');
  expect(answer.error.message, context).toBeTypeOf('string');
  expect(answer.error.message, context).not.toMatch(STACK);
}

/** A push answer: a coded whole-request error, or every row rejected with a code; nothing leaks to `who`. */
function expectRefusedPush(answer: any, rows: number, who: string, context: string): void {
  if (answer && typeof answer === 'object' && 'error' in answer) {
    expectCodedError(answer, context);
    return;
  }
  expect(Array.isArray(answer?.rejected), `${context}: ${JSON.stringify(answer).slice(0, 300)}`).toBe(true);
  expect(answer.rejected.length, `${context}: ${JSON.stringify(answer).slice(0, 500)}`).toBe(rows);
  for (const row of answer.rejected) {
    expect(CODES, context).toContain(row.code);
    expect(row.code, `${context}: ${row.message}`).not.toBe('INTERNAL');
    expect(row.message, context).not.toMatch(STACK);
  }
  // A conflict hands back the stored state: only ever to someone who may see it.
  for (const doc of answer.conflicts) {
    const audience: string[] = doc.participants ?? [doc.sender, doc.recipient];
    expect(audience, `${context}: conflict leaked to ${who}`).toContain(who === 'c' ? C : who === 'a' ? A : B);
  }
}

/** Rows the server judges one by one: those of a well-formed envelope (a broken one is refused whole). */
function rowCount(payload: any, generated: number): number {
  return generated > 0 ? generated : Array.isArray(payload?.rows) ? payload.rows.length : 0;
}

async function unchangedStore<T>(work: () => Promise<T>): Promise<T> {
  const before = storeDigest(server.sqlitePath);
  const result = await work();
  expect(storeDigest(server.sqlitePath), 'the store changed').toBe(before);
  return result;
}

function ack(socket: ClientSocket, event: string, ...args: unknown[]): Promise<any> {
  return (socket.timeout(5000) as any).emitWithAck(event, ...args);
}

const socketOf = (who: 'a' | 'b' | 'c') => ({ a, b, c })[who];

// Shapes of the valid payloads the mutations start from --------------------------------------

const MESSAGE_SHAPE: Shape = {
  fields: {
    id: 'string',
    conversation: 'string',
    sender: 'string',
    recipient: 'string',
    content: 'string',
    messageType: 'string',
    attachments: 'array',
    isRead: 'boolean',
    readAt: 'nullableString',
    isEdited: 'boolean',
    editedAt: 'nullableString',
    isDeleted: 'boolean',
    deletedAt: 'nullableString',
    deliveredAt: 'nullableString',
    createdAt: 'string',
    updatedAt: 'string',
    seq: 'int',
    sentAt: 'nullableString',
    _deleted: 'boolean',
  },
  // A creation may leave the rest out (docs/protocol.md, "Minimal creation"); an update row takes
  // what it leaves out from its assumed master, which is read the same way.
  required: [...MESSAGE_CREATION_REQUIRED],
  bounded: ['id', 'conversation', 'sender', 'recipient', 'content', 'messageType', 'createdAt', 'updatedAt'],
  boundedArrays: ['attachments'],
};

const CONVERSATION_SHAPE: Shape = {
  fields: {
    id: 'string',
    participants: 'array',
    job: 'nullableString',
    lastMessage: 'nullableString',
    lastActivity: 'string',
    isActive: 'boolean',
    unreadCount: 'object',
    participantNames: 'object',
    createdAt: 'string',
    updatedAt: 'string',
    seq: 'int',
    _deleted: 'boolean',
  },
  required: [...CONVERSATION_CREATION_REQUIRED],
  bounded: ['id', 'lastActivity', 'createdAt', 'updatedAt'],
  boundedArrays: ['participants'],
};

const ROW_SHAPE: Shape = {
  fields: { assumedMasterState: 'nullableObject', newDocumentState: 'object' },
  required: ['newDocumentState'],
  bounded: [],
};
const PUSH_SHAPE: Shape = { fields: { collection: 'string', rows: 'array' }, required: ['collection', 'rows'], bounded: ['collection'] };
const PULL_SHAPE: Shape = {
  fields: { collection: 'string', checkpoint: 'nullableObject', batchSize: 'int' },
  required: ['collection', 'batchSize'],
  bounded: ['collection'],
};
const BOOTSTRAP_SHAPE: Shape = { fields: { collection: 'string', pageSize: 'int' }, required: ['collection', 'pageSize'], bounded: ['collection'] };
const HISTORY_SHAPE: Shape = {
  fields: { collection: 'string', before: 'int', limit: 'int' },
  required: ['collection', 'before', 'limit'],
  bounded: ['collection'],
};
const PAGE_SHAPE: Shape = {
  fields: { conversationId: 'string', before: 'nullableInt', limit: 'int' },
  required: ['conversationId', 'before', 'limit'],
  bounded: ['conversationId'],
};
const TYPING_SHAPE: Shape = { fields: { conversationId: 'string' }, required: ['conversationId'], bounded: ['conversationId'] };
const DELIVERED_SHAPE: Shape = { fields: { ids: 'array' }, required: ['ids'], bounded: [], boundedArrays: ['ids'] };

// Rows a given user must be refused ------------------------------------------------------------

type Who = 'a' | 'b' | 'c';
type Row = { label: string; row: unknown };

const content = fc.string({ minLength: 1, maxLength: 40 });
const isoNow = () => new Date().toISOString();
const other = () => newUserId();

/** A malformed message row (the document or the row envelope broken). */
function brokenMessageRow(who: Who): fc.Arbitrary<Row> {
  const me = who === 'a' ? A : who === 'b' ? B : C;
  const base = draftMessage(AB, me, me === A ? B : A, 'hello') as unknown as Record<string, unknown>;
  return fc.oneof(
    breakObject(base, MESSAGE_SHAPE).map(({ label, value }) => ({ label: `doc: ${label}`, row: { newDocumentState: value } })),
    breakObject({ newDocumentState: base }, ROW_SHAPE).map(({ label, value }) => ({ label: `row: ${label}`, row: value })),
    // (A null assumed state is allowed: "no assumption", answered as a conflict, not a refusal.)
    breakObject(stored.m1 as unknown as Record<string, unknown>, MESSAGE_SHAPE).filter(({ value }) => value !== null).map(({ label, value }) => ({
      label: `assumed: ${label}`,
      row: { assumedMasterState: value, newDocumentState: { ...stored.m1, content: 'changed' } },
    })),
    fc.constantFrom(
      { label: 'content too long', row: { newDocumentState: { ...base, content: 'x'.repeat(LIMITS.contentMaxLength + 1) } } },
      { label: 'isRead without readAt', row: { newDocumentState: { ...base, isRead: true } } },
      { label: 'non-canonical date', row: { newDocumentState: { ...base, createdAt: '2024-01-01' } } },
      { label: 'javascript: attachment', row: { newDocumentState: { ...base, attachments: [{ filename: 'a', url: 'javascript:alert(1)', size: 1, mimeType: 'x' }] } } },
      { label: 'reserved user id', row: { newDocumentState: { ...base, recipient: '__proto__' } } },
      { label: 'lone surrogate in content', row: { newDocumentState: { ...base, content: 'broken \ud83d' } } },
      {
        label: 'lone surrogate in a filename',
        row: { newDocumentState: { ...base, attachments: [{ filename: '\udc00.png', url: 'https://x.example/a.png', size: 1, mimeType: 'image/png' }] } },
      },
    ),
  );
}

/** A well-formed message row that this user may not write. */
function forbiddenMessageRow(who: Who): fc.Arbitrary<Row> {
  const now = isoNow();
  const rows: Record<Who, fc.Arbitrary<Row>[]> = {
    a: [
      content.map((t) => ({ label: 'forged sender', row: { newDocumentState: draftMessage(AB, B, A, t) } })),
      fc.integer({ min: 1, max: 1e9 }).map((seq) => ({ label: 'create with seq', row: { newDocumentState: draftMessage(AB, A, B, 'x', { seq }) } })),
      fc.constant({ label: 'create with sentAt', row: { newDocumentState: draftMessage(AB, A, B, 'x', { sentAt: now }) } }),
      fc.constant({ label: 'system message', row: { newDocumentState: draftMessage(AB, A, B, 'x', { messageType: 'system' }) } }),
      fc.constant({ label: 'create read', row: { newDocumentState: draftMessage(AB, A, B, 'x', { isRead: true, readAt: now }) } }),
      fc.constant({ label: 'create delivered', row: { newDocumentState: draftMessage(AB, A, B, 'x', { deliveredAt: now }) } }),
      fc.constantFrom(A, C).map((r) => ({ label: 'wrong recipient', row: { newDocumentState: draftMessage(AB, A, r, 'x') } })),
      fc.constant({ label: 'create removed', row: { newDocumentState: { ...draftMessage(AB, A, B, 'x'), _deleted: true } } }),
      fc.constant({ label: 'unknown conversation', row: { newDocumentState: draftMessage(draftConversation(A, other()).id, A, B, 'x') } }),
      fc.constant({ label: 'into a stranger’s conversation', row: { newDocumentState: draftMessage(CD, A, C, 'x') } }),
      fc.constant({ label: 'sender marks read', row: { assumedMasterState: stored.m1, newDocumentState: { ...stored.m1, isRead: true, readAt: now, deliveredAt: now } } }),
      fc.constant({ label: 'sender marks delivered', row: { assumedMasterState: stored.m1, newDocumentState: { ...stored.m1, deliveredAt: now } } }),
      fc.integer({ min: 1, max: 1e6 }).map((n) => ({ label: 'forged seq', row: { assumedMasterState: stored.m1, newDocumentState: { ...stored.m1, seq: stored.m1.seq + n } } })),
      fc.constant({ label: 'forged sentAt', row: { assumedMasterState: stored.m1, newDocumentState: { ...stored.m1, sentAt: '2000-01-01T00:00:00.000Z' } } }),
      content.map((t) => ({ label: 'undelete', row: { assumedMasterState: stored.m3, newDocumentState: { ...stored.m3, isDeleted: false, content: `${t}!` } } })),
      fc.constant({ label: 'unread', row: { assumedMasterState: stored.m2, newDocumentState: { ...stored.m2, isRead: false, readAt: null } } }),
      fc.constantFrom('conversation', 'recipient', 'messageType').map((f) => ({
        label: `change ${f}`,
        row: {
          assumedMasterState: stored.m1,
          newDocumentState: { ...stored.m1, [f]: f === 'conversation' ? CD : f === 'recipient' ? C : 'file' },
        },
      })),
      content.map((t) => ({ label: 'edit the other’s message', row: { assumedMasterState: stored.m2, newDocumentState: { ...stored.m2, content: `${t}!` } } })),
    ],
    b: [
      content.map((t) => ({ label: 'recipient edits', row: { assumedMasterState: stored.m1, newDocumentState: { ...stored.m1, content: `${t}!`, isEdited: true } } })),
      fc.constant({ label: 'recipient deletes', row: { assumedMasterState: stored.m1, newDocumentState: { ...stored.m1, isDeleted: true, content: '' } } }),
      content.map((t) => ({ label: 'forged sender', row: { newDocumentState: draftMessage(AB, A, B, t) } })),
      fc.constant({ label: 'recipient restores', row: { assumedMasterState: stored.m3, newDocumentState: { ...stored.m3, isDeleted: false } } }),
    ],
    c: [
      content.map((t) => ({ label: 'stranger creates', row: { newDocumentState: draftMessage(AB, C, B, t) } })),
      content.map((t) => ({ label: 'stranger as A', row: { newDocumentState: draftMessage(AB, A, B, t) } })),
      content.map((t) => ({ label: 'stranger into unknown', row: { newDocumentState: draftMessage(draftConversation(A, other()).id, C, A, t) } })),
      fc
        .tuple(fc.constantFrom(stored.m1, stored.m2, stored.m3), fc.boolean(), content)
        .map(([m, withAssumed, t]) => ({
          label: 'stranger overwrites',
          row: { ...(withAssumed ? { assumedMasterState: m } : {}), newDocumentState: { ...m, content: `${t}!`, isRead: true, readAt: now } },
        })),
    ],
  };
  return fc.oneof(...rows[who]);
}

function brokenConversationRow(who: Who): fc.Arbitrary<Row> {
  const me = who === 'a' ? A : who === 'b' ? B : C;
  const base = draftConversation(me, other()) as unknown as Record<string, unknown>;
  return fc.oneof(
    breakObject(base, CONVERSATION_SHAPE).map(({ label, value }) => ({ label: `doc: ${label}`, row: { newDocumentState: value } })),
    breakObject({ newDocumentState: base }, ROW_SHAPE).map(({ label, value }) => ({ label: `row: ${label}`, row: value })),
    fc.constantFrom(
      { label: 'three participants', row: { newDocumentState: { ...base, participants: [me, other(), other()] } } },
      { label: 'reserved key in a map', row: { newDocumentState: { ...base, unreadCount: withOwn({}, '__proto__', 1) } } },
      { label: 'reserved participant', row: { newDocumentState: { ...base, participants: ['__proto__', me] } } },
    ),
  );
}

function forbiddenConversationRow(who: Who): fc.Arbitrary<Row> {
  const now = isoNow();
  const participant: fc.Arbitrary<Row>[] = [
    fc.constant({ label: 'mismatched id', row: { newDocumentState: { ...draftConversation(A, other()), id: draftConversation(A, other()).id } } }),
    fc.constant({ label: 'with oneself', row: { newDocumentState: { ...draftConversation(A, other()), id: `c.${A}.${A}`, participants: [A, A] } } }),
    fc.constant({ label: 'created removed', row: { newDocumentState: { ...draftConversation(A, other()), _deleted: true } } }),
    fc.constant({ label: 'for others', row: { newDocumentState: draftConversation(other(), other()) } }),
    fc
      .constantFrom(
        { participants: [A, C].sort() },
        { job: 'job1' },
        { unreadCount: { [A]: 0, [B]: 0 } },
        { lastMessage: stored.m1.id },
        { isActive: false },
        { participantNames: { [A]: 'Mallory' } },
        { lastActivity: now },
        { seq: 999_999 },
      )
      .map((change) => ({ label: `change ${Object.keys(change)[0]}`, row: { assumedMasterState: stored.ab, newDocumentState: { ...stored.ab, ...change } } })),
  ];
  const stranger: fc.Arbitrary<Row>[] = [
    fc.constant({ label: 'stranger creates A–B', row: { newDocumentState: draftConversation(A, B) } }),
    fc.constant({ label: 'stranger creates for others', row: { newDocumentState: draftConversation(A, other()) } }),
    fc.constant({ label: 'stranger changes A–B', row: { assumedMasterState: stored.ab, newDocumentState: { ...stored.ab, participants: [A, C].sort() } } }),
    fc.constant({ label: 'stranger echoes A–B', row: { assumedMasterState: stored.ab, newDocumentState: stored.ab } }),
  ];
  return fc.oneof(...(who === 'c' ? stranger : participant));
}

function pushCase(collection: 'messages' | 'conversations') {
  const broken = collection === 'messages' ? brokenMessageRow : brokenConversationRow;
  const forbidden = collection === 'messages' ? forbiddenMessageRow : forbiddenConversationRow;
  const rowsFor = (who: Who) =>
    fc.array(fc.oneof(broken(who), forbidden(who)), { minLength: 1, maxLength: 5 }).map((rows) => ({
      who,
      label: rows.map((r) => r.label).join(' | '),
      payload: { collection, rows: rows.map((r) => r.row) } as unknown,
      rows: rows.length,
    }));
  const envelope = fc.constantFrom<Who>('a', 'b', 'c').chain((who) =>
    fc.oneof(
      breakObject({ collection, rows: [] }, PUSH_SHAPE).map(({ label, value }) => ({ who, label: `envelope: ${label}`, payload: value, rows: 0 })),
      fc
        .string({ maxLength: 20 })
        .filter((name) => !(COLLECTIONS as readonly string[]).includes(name))
        .map((name) => ({ who, label: `collection ${JSON.stringify(name)}`, payload: { collection: name, rows: [] }, rows: 0 })),
      fc.integer({ min: LIMITS.pushMaxRows + 1, max: 2_000 }).map((n) => ({
        who,
        label: `${n} rows`,
        payload: { collection, rows: Array.from({ length: n }, () => ({})) },
        rows: 0,
      })),
    ),
  );
  return fc.oneof({ arbitrary: fc.constantFrom<Who>('a', 'b', 'c').chain(rowsFor), weight: 4 }, { arbitrary: envelope, weight: 1 });
}

// Socket events --------------------------------------------------------------------------------

describe('socket events', () => {
  it(`sync:pull: ${RUNS.pull} malformed requests answer coded errors and change nothing`, async () => {
    const valid = { collection: 'messages', checkpoint: null, batchSize: 10 };
    const checkpoint = fc.oneof(
      fc.constantFrom({ seq: -1 }, { seq: 1.5 }, { seq: 2 ** 60 }, { seq: 10 ** 9 }, {}, { seq: 1, extra: 1 }, 'abc', 7, [1]),
      fc.dictionary(fc.string({ maxLength: 6 }), anyValue, { minKeys: 1, maxKeys: 3 }).filter((o) => !('seq' in o)),
    );
    const cases = fc.oneof(
      breakObject(valid, PULL_SHAPE),
      checkpoint.map((cp) => ({ label: `checkpoint ${JSON.stringify(cp)}`, value: { ...valid, checkpoint: cp } })),
      fc
        .oneof(fc.integer({ max: 0 }), fc.integer({ min: LIMITS.pullMaxBatch + 1 }), fc.constantFrom(0.5, Number.MAX_VALUE))
        .map((n) => ({ label: `batchSize ${n}`, value: { ...valid, batchSize: n } })),
      fc
        .string({ maxLength: 30 })
        .filter((s) => !(COLLECTIONS as readonly string[]).includes(s))
        .map((s) => ({ label: `collection ${JSON.stringify(s)}`, value: { ...valid, collection: s } })),
    );
    await fc.assert(
      fc.asyncProperty(cases, fc.constantFrom<Who>('a', 'c'), async ({ label, value }, who) => {
        fc.pre(wireSize(value) < maxFrame / 2);
        casesRun++;
        const answer = await unchangedStore(() => ack(socketOf(who), 'sync:pull', value));
        expectCodedError(answer, `pull ${label}`);
      }),
      params(RUNS.pull),
    );
  });

  it(`sync:push messages: ${RUNS.pushMessages} malformed or unauthorised batches are refused row by row and change nothing`, async () => {
    await fc.assert(
      fc.asyncProperty(pushCase('messages'), async ({ who, label, payload, rows }) => {
        fc.pre(wireSize(payload) < maxFrame / 2);
        casesRun++;
        const answer = await unchangedStore(() => ack(socketOf(who), 'sync:push', payload));
        expectRefusedPush(answer, rowCount(payload, rows), who, `${who} pushes messages: ${label}`);
      }),
      params(RUNS.pushMessages),
    );
  });

  it(`sync:push conversations: ${RUNS.pushConversations} malformed or unauthorised batches are refused and change nothing`, async () => {
    await fc.assert(
      fc.asyncProperty(pushCase('conversations'), async ({ who, label, payload, rows }) => {
        fc.pre(wireSize(payload) < maxFrame / 2);
        casesRun++;
        const answer = await unchangedStore(() => ack(socketOf(who), 'sync:push', payload));
        expectRefusedPush(answer, rowCount(payload, rows), who, `${who} pushes conversations: ${label}`);
      }),
      params(RUNS.pushConversations),
    );
  });

  it(`typing:start/stop: ${RUNS.typing} malformed or forbidden events are refused and relayed to nobody`, async () => {
    let next = 0;
    const target = fc.oneof(
      fc.constant({ who: 'c' as const, label: 'stranger in A–B', value: { conversationId: AB } as unknown }),
      fc.constant({ who: 'a' as const, label: 'A in C–D', value: { conversationId: CD } as unknown }),
      fc.constant({ who: 'a' as const, label: 'A in an unknown conversation', value: { conversationId: draftConversation(A, other()).id } as unknown }),
      fc.constant({ who: 'c' as const, label: 'stranger with a userId', value: { conversationId: CD, userId: A } as unknown }),
      fc
        .tuple(fc.constantFrom<'a' | 'c'>('a', 'c'), breakObject({ conversationId: AB }, TYPING_SHAPE))
        .map(([who, { label, value }]) => ({ who, label, value })),
    );
    let refusedOnMerit = 0;
    await fc.assert(
      fc.asyncProperty(target, fc.constantFrom('typing:start', 'typing:stop'), async ({ who, label, value }, event) => {
        fc.pre(wireSize(value) < maxFrame / 2);
        casesRun++;
        const pool = typingPool[who];
        const socket = pool[next++ % pool.length]!;
        const answer = await unchangedStore(() => ack(socket, event, value));
        expectCodedError(answer, `${who} ${event} ${label}`);
        if (answer.error.code !== 'RATE_LIMITED') refusedOnMerit++;
      }),
      params(RUNS.typing),
    );
    // The typing relay's own 10-per-second limit must not have answered (nearly) everything.
    expect(refusedOnMerit).toBeGreaterThan(RUNS.typing / 2);
  });

  it(`messages:delivered: ${RUNS.delivered} malformed or foreign receipts are refused and change nothing`, async () => {
    // B is left out: m1 is A's message to B, still undelivered, and B's receipt would be a real write.
    const id = fc.oneof(fc.constantFrom(stored.m1.id, stored.m2.id, stored.m3.id), fc.uuid(), fc.string({ maxLength: 40 }), anyValue);
    const cases = fc.oneof(
      fc.array(id, { minLength: 1, maxLength: 6 }).map((ids) => ({ label: `ids ${JSON.stringify(ids).slice(0, 80)}`, value: { ids } as unknown })),
      fc.constant({ label: 'no ids', value: { ids: [] } as unknown }),
      fc.constant({ label: 'too many ids', value: { ids: Array.from({ length: LIMITS.deliveredMaxIds + 1 }, () => stored.m1.id) } as unknown }),
      breakObject({ ids: [stored.m1.id] }, DELIVERED_SHAPE),
      anyValue.map((value) => ({ label: `any ${JSON.stringify(value)?.slice(0, 60)}`, value })),
    );
    await fc.assert(
      fc.asyncProperty(cases, fc.constantFrom<'a' | 'c'>('a', 'c'), async ({ label, value }, who) => {
        fc.pre(wireSize(value) < maxFrame / 2);
        casesRun++;
        const answer = await unchangedStore(() => ack(socketOf(who), 'messages:delivered', value));
        const context = `${who} messages:delivered ${label}`;
        if (answer && typeof answer === 'object' && 'error' in answer) return expectCodedError(answer, context);
        // Well-formed ids that are not the caller's to mark: nothing delivered, each refused with a code.
        expect(answer.delivered, context).toBe(0);
        for (const r of answer.rejected) {
          expect(CODES, context).toContain(r.code);
          expect(r.message, context).not.toMatch(STACK);
        }
      }),
      params(RUNS.delivered),
    );
  });

  it(`sync:bootstrap, sync:history, sync:page: ${RUNS.reads} malformed, oversized or foreign reads answer their codes, change nothing and show a stranger nothing`, async () => {
    type Read = { event: string; label: string; value: unknown; code?: string; who?: Who };
    const read = (event: string, expectCode?: string) => (c: { label: string; value: unknown }): Read => ({ event, ...c, code: expectCode });
    const notACollection = fc.string({ maxLength: 30 }).filter((s) => !(COLLECTIONS as readonly string[]).includes(s));
    const badBefore = fc.constantFrom<unknown>(0, -1, 1.5, 2 ** 60, 10 ** 12, '1', { seq: 1 }, [1]);
    const bootstrap = { collection: 'messages', pageSize: 10 };
    const history = { collection: 'messages', before: 1, limit: 10 };
    const page = { conversationId: AB, before: null, limit: 10 };
    const cases: fc.Arbitrary<Read> = fc.oneof(
      breakObject(bootstrap, BOOTSTRAP_SHAPE).map(read('sync:bootstrap')),
      breakObject(history, HISTORY_SHAPE).map(read('sync:history')),
      breakObject(page, PAGE_SHAPE).map(read('sync:page')),
      notACollection.map((s) => read('sync:bootstrap', 'UNKNOWN_COLLECTION')({ label: `collection ${JSON.stringify(s)}`, value: { ...bootstrap, collection: s } })),
      notACollection.map((s) => read('sync:history', 'UNKNOWN_COLLECTION')({ label: `collection ${JSON.stringify(s)}`, value: { ...history, collection: s } })),
      fc.integer({ min: LIMITS.bootstrapPageMax + 1 }).map((n) => read('sync:bootstrap', 'BATCH_TOO_LARGE')({ label: `pageSize ${n}`, value: { ...bootstrap, pageSize: n } })),
      fc.integer({ min: LIMITS.historyMaxBatch + 1 }).map((n) => read('sync:history', 'BATCH_TOO_LARGE')({ label: `limit ${n}`, value: { ...history, limit: n } })),
      fc.integer({ min: LIMITS.pageMaxBatch + 1 }).map((n) => read('sync:page', 'BATCH_TOO_LARGE')({ label: `limit ${n}`, value: { ...page, limit: n } })),
      badBefore.map((b) => read('sync:history', 'INVALID_CHECKPOINT')({ label: `before ${JSON.stringify(b)}`, value: { ...history, before: b } })),
      badBefore.map((b) => read('sync:page', 'INVALID_CHECKPOINT')({ label: `before ${JSON.stringify(b)}`, value: { ...page, before: b } })),
      // Another's conversation and one that does not exist: the same NOT_FOUND.
      fc.constantFrom(['c', AB] as const, ['a', CD] as const, ['a', null] as const, ['c', null] as const).map(([who, id]) => ({
        ...read('sync:page', 'NOT_FOUND')({ label: `page of ${id ?? 'an unknown conversation'}`, value: { ...page, conversationId: id ?? draftConversation(A, other()).id } }),
        who,
      })),
    );
    await fc.assert(
      fc.asyncProperty(cases, fc.constantFrom<Who>('a', 'c'), async ({ event, label, value, code, who: only }, any) => {
        fc.pre(wireSize(value) < maxFrame / 2);
        casesRun++;
        const who = only ?? any;
        const answer = await unchangedStore(() => ack(socketOf(who), event, value));
        const context = `${who} ${event} ${label}`;
        expectCodedError(answer, context);
        if (code) expect(answer.error.code, `${context}: ${answer.error.message}`).toBe(code);
        if (who === 'c') expect(JSON.stringify(answer), context).not.toContain(SECRET_MARK);
      }),
      params(RUNS.reads),
    );
  });

  it(`${RUNS.unknownEvents} unknown events and wrong argument counts are answered VALIDATION_FAILED`, async () => {
    const reserved = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'];
    const known = ['sync:pull', 'sync:push', 'sync:bootstrap', 'sync:history', 'sync:page', 'messages:delivered', 'typing:start', 'typing:stop'];
    const name = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom('sync:stream', 'auth:expired', 'user:online', 'presence:state', 'sync:pull ', 'SYNC:PUSH', '__proto__', 'constructor', 'error'),
      fc.string({ maxLength: 8 }).map((s) => `sync:${s}`),
    );
    const cases = fc.oneof(
      fc
        .tuple(name.filter((n) => !reserved.includes(n) && !known.includes(n)), fc.array(anyValue, { maxLength: 3 }))
        .map(([event, args]) => ({ event, args, label: `unknown ${JSON.stringify(event)}` })),
      fc
        .tuple(fc.constantFrom(...known), fc.oneof(fc.constant([]), fc.array(anyValue, { minLength: 2, maxLength: 3 })))
        .map(([event, args]) => ({ event, args, label: `${event} with ${args.length} payloads` })),
    );
    await fc.assert(
      fc.asyncProperty(cases, fc.constantFrom<Who>('a', 'c'), async ({ event, args, label }, who) => {
        casesRun++;
        const answer = await unchangedStore(() => ack(socketOf(who), event, ...args));
        expectCodedError(answer, label);
        expect(answer.error.code, label).toBe('VALIDATION_FAILED');
      }),
      params(RUNS.unknownEvents),
    );
  });

  it(`${RUNS.withoutAck} events without an ack change nothing and the socket keeps working`, async () => {
    const payload = fc.oneof(
      pushCase('messages').map((p) => ({ event: 'sync:push', args: [p.payload] })),
      pushCase('conversations').map((p) => ({ event: 'sync:push', args: [p.payload] })),
      breakObject({ collection: 'messages', checkpoint: null, batchSize: 10 }, PULL_SHAPE).map((p) => ({ event: 'sync:pull', args: [p.value] })),
      fc.constant({ event: 'sync:pull', args: [{ collection: 'messages', checkpoint: null, batchSize: 10 }] }),
      fc.constantFrom('typing:start', 'typing:stop').map((event) => ({ event, args: [{ conversationId: CD }] })),
      fc.constant({ event: 'messages:delivered', args: [{ ids: [stored.m1.id] }] }),
      fc.constantFrom(
        { event: 'sync:bootstrap', args: [{ collection: 'messages', pageSize: 10 }] },
        { event: 'sync:history', args: [{ collection: 'messages', before: 1, limit: 10 }] },
        { event: 'sync:page', args: [{ conversationId: AB, before: null, limit: 10 }] },
      ),
      fc.tuple(fc.string({ maxLength: 12 }), fc.array(anyValue, { maxLength: 3 })).map(([event, args]) => ({ event: `x-${event}`, args })),
    );
    await fc.assert(
      fc.asyncProperty(payload, async ({ event, args }) => {
        fc.pre(wireSize(args) < maxFrame / 2);
        casesRun++;
        await unchangedStore(async () => {
          (aQuiet as any).emit(event, ...args);
          // One connection's packets are handled in order: this answer comes after the event above.
          const answer = await pull(aQuiet, { collection: 'messages', checkpoint: null, batchSize: 1 });
          expect(answer.error, JSON.stringify(answer.error)).toBeUndefined();
        });
      }),
      params(RUNS.withoutAck),
    );
    expect(aQuiet.connected).toBe(true);
  });

  it(`${RUNS.rawFrames} malformed Socket.io frames (bad packets, reserved names, invalid UTF-8) close only their own connection`, async () => {
    const frame = fc.oneof(
      fc
        .tuple(fc.constantFrom('2', '21', '3', '31', '5', '51-', '0', '6', '9', '', '2/x,', '2/,'), fc.oneof(fc.string({ maxLength: 40 }), fc.json({ maxDepth: 3 })))
        .map(([prefix, body]) => ({ kind: 'text' as const, data: prefix + body })),
      fc
        .constantFrom(
          '2["disconnect"]',
          '2["connect",{}]',
          '21["newListener",{}]',
          '2["sync:pull"',
          '2[]',
          '2{"a":1}',
          '21["sync:push",{"collection":"messages","rows":[{"__proto__":{"x":1}}]}]',
          `21["sync:pull",${JSON.stringify({ collection: 'messages', batchSize: 1, checkpoint: { seq: -1 } })}]`,
          '51-["sync:push",{"_placeholder":true,"num":7}]',
          `2${'['.repeat(5_000)}${']'.repeat(5_000)}`,
        )
        .map((data) => ({ kind: 'text' as const, data })),
      fc
        .uint8Array({ minLength: 1, maxLength: 40 })
        .map((bytes) => ({ kind: 'invalid-utf8' as const, data: Buffer.concat([Buffer.from('42["sync:pull",{"collection":"'), Buffer.from([0xff, 0xfe, ...bytes]), Buffer.from('"}]')]) })),
    );
    await fc.assert(
      fc.asyncProperty(frame, async (f) => {
        casesRun++;
        const socket = await connect(server.url, token.C);
        try {
          await unchangedStore(async () => {
            const closed = new Promise<'closed'>((resolve) => socket.once('disconnect', () => resolve('closed')));
            const engine = (socket.io as any).engine;
            if (f.kind === 'text') engine.write(f.data);
            // A text frame whose bytes are not UTF-8, straight onto the WebSocket.
            else engine.transport.ws.send(f.data, { binary: false });
            const probe = () =>
              Promise.race([
                closed,
                ack(socket, 'sync:pull', { collection: 'messages', checkpoint: null, batchSize: 1 }).then(
                  (answer) => answer,
                  () => 'no answer',
                ),
              ]);
            let outcome = await probe();
            // A frame such as "20" is an event with ack id 0, which the server answers (unknown
            // event); the client takes that answer as its own first ack's. The next probe is not.
            if (outcome !== 'closed' && outcome?.error) outcome = await probe();
            // Either the server cut this connection, or it is still answering properly.
            if (outcome !== 'closed') expect(outcome.documents, JSON.stringify(outcome)).toEqual([]);
            if (f.kind === 'invalid-utf8') expect(outcome).toBe('closed');
          });
        } finally {
          socket.close();
        }
      }),
      params(RUNS.rawFrames),
    );
  });

  it(`${RUNS.oversizedFrames} frames over maxHttpBufferSize cut the connection, not the server`, async () => {
    const shape = fc.constantFrom('string', 'array', 'object', 'binary');
    const cases = fc.record({
      event: fc.constantFrom('sync:pull', 'sync:push', 'typing:start', 'no-such-event'),
      shape,
      extra: fc.integer({ min: 1, max: 512 * 1024 }),
      transport: fc.constantFrom('websocket', 'polling'),
    });
    await fc.assert(
      fc.asyncProperty(cases, async ({ event, shape, extra, transport }) => {
        casesRun++;
        const size = maxFrame + extra;
        const socket = ioClient(server.url, { auth: { token: token.C }, transports: [transport], reconnection: false, forceNew: true });
        try {
          await new Promise<void>((resolve, reject) => {
            socket.once('connect', resolve);
            socket.once('connect_error', reject);
          });
          await unchangedStore(async () => {
            const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
            const payload =
              shape === 'string'
                ? { collection: 'messages', rows: 'x'.repeat(size) }
                : shape === 'array'
                  ? { collection: 'messages', rows: Array.from({ length: Math.ceil(size / 8) }, () => 'abcdef') }
                  : shape === 'object'
                    ? Object.fromEntries(Array.from({ length: Math.ceil(size / 16) }, (_, i) => [`k${i}`, 'abcdefg']))
                    : { collection: 'messages', rows: Buffer.alloc(size, 1) };
            socket.emit(event as any, payload, () => undefined);
            expect(await closed).toMatch(/^transport (close|error)$/);
          });
        } finally {
          socket.close();
        }
      }),
      params(RUNS.oversizedFrames),
    );
  });
});

// REST -------------------------------------------------------------------------------------------

type Allow = 'error' | 'read';
interface RestCase {
  label: string;
  method: string;
  path: string;
  /** Authorization header value, or undefined for none. */
  auth?: string;
  /** Who the token belongs to when it is valid (for leak checks). */
  who?: Who;
  body?: string | Buffer;
  contentType?: string;
  contentEncoding?: string;
  allow: Allow;
}

/** encodeURIComponent throws on a lone surrogate; raw `%ED%A0%80` (its CESU-8 bytes) is generated on its own. */
const enc = (s: string) => encodeURIComponent(s.replace(/\p{Cs}/gu, '%ED%A0%80'));

function badAuthHeaders(): fc.Arbitrary<{ label: string; auth?: string }> {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const validC = token.C.split('.');
  return fc.constantFrom(
    { label: 'no token' },
    { label: 'basic scheme', auth: 'Basic dXNlcjpwYXNz' },
    { label: 'empty bearer', auth: 'Bearer ' },
    { label: 'garbage token', auth: 'Bearer garbage' },
    { label: 'expired token', auth: `Bearer ${tokenFor(A, { expiresInSeconds: -10 })}` },
    { label: 'wrong secret', auth: `Bearer ${tokenFor(A, { secret: 'another-secret-0123456789abcdef' })}` },
    { label: 'alg none', auth: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ userId: A })}.` },
    { label: 'tampered payload', auth: `Bearer ${validC[0]}.${b64({ userId: A, iat: 1 })}.${validC[2]}` },
    { label: 'RS256 header', auth: `Bearer ${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ userId: A })}.${validC[2]}` },
    { label: 'reserved user id', auth: `Bearer ${jwt.sign({ userId: '__proto__' }, TEST_SECRET, { expiresIn: 60 })}` },
    { label: 'huge token', auth: `Bearer ${'a'.repeat(8_000)}` },
  );
}

const bearer = (who: Who) => `Bearer ${token[who === 'a' ? 'A' : who === 'b' ? 'B' : 'C']}`;

/** A body that is not the JSON object the route takes: broken JSON, wrong content type, invalid UTF-8, too big. */
function brokenBody(valid: Record<string, unknown>, shape: Shape): fc.Arbitrary<{ label: string; body?: string | Buffer; contentType?: string; contentEncoding?: string }> {
  const json = JSON.stringify(valid);
  return fc.oneof(
    { weight: 5, arbitrary: breakObject(valid, shape).map(({ label, value }) => ({ label, body: JSON.stringify(value), contentType: 'application/json' })) },
    fc
      .constantFrom('{"content": "unterminated', '', 'null', '"string"', '123', 'true', '[]', '<xml/>', 'undefined', '{"a":1}{"b":2}', `${json}garbage`)
      .map((body) => ({ label: `raw ${JSON.stringify(body.slice(0, 20))}`, body, contentType: 'application/json' })),
    fc
      .constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', undefined)
      .map((contentType) => ({ label: `content-type ${contentType}`, body: json, contentType })),
    fc
      .constantFrom('application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json; charset=nope')
      .map((contentType) => ({ label: contentType, body: json, contentType })),
    fc
      .constantFrom('gzip', 'deflate', 'br', 'compress', 'x-unknown')
      .map((contentEncoding) => ({ label: `content-encoding ${contentEncoding}`, body: json, contentType: 'application/json', contentEncoding })),
    fc.uint8Array({ minLength: 1, maxLength: 8 }).map((bytes) => {
      // The valid body with bytes that are not UTF-8 inside its last string: only a decoder's
      // U+FFFD replacement would make it "valid".
      const cut = json.lastIndexOf('"');
      const body = Buffer.concat([Buffer.from(json.slice(0, cut)), Buffer.from([0xc3, 0x28, 0xff, ...bytes]), Buffer.from(json.slice(cut))]);
      return { label: 'invalid UTF-8 bytes', body, contentType: 'application/json' };
    }),
    fc.integer({ min: 300_000, max: 600_000 }).map((n) => ({ label: `${n}-byte body`, body: JSON.stringify({ ...valid, pad: 'x'.repeat(n) }), contentType: 'application/json' })),
    fc.tuple(fc.constantFrom(...HOSTILE_KEYS), anyValue).map(([key, v]) => ({
      label: `hostile key ${key}`,
      body: `{${JSON.stringify(key)}:${JSON.stringify(v) ?? 'null'},${json.slice(1)}`,
      contentType: 'application/json',
    })),
    deepValue.map((v) => ({ label: 'deep nesting', body: JSON.stringify({ ...valid, nested: v }), contentType: 'application/json' })),
    loneSurrogateString.map((s) => ({ label: 'lone surrogate', body: JSON.stringify(Object.fromEntries(Object.keys(valid).map((k) => [k, s]))), contentType: 'application/json' })),
  );
}

/** Any body at all: used where the route refuses the caller whatever the body says. */
const anyBody = fc.oneof(
  fc.constant({ label: 'no body' }),
  anyValue.map((v) => ({ label: 'random JSON', body: JSON.stringify(v) ?? 'null', contentType: 'application/json' })),
  fc.string({ maxLength: 30 }).map((body) => ({ label: 'random text', body, contentType: 'text/plain' })),
);

const garbageId = fc.oneof(
  smallString.filter((s) => s.length > 0).map(enc),
  fc.constantFrom('%', '%ZZ', '%E0%A4%A', '%00', '..%2F..%2Fetc', '__proto__', 'constructor', '%24where', 'a'.repeat(3_000), '%F0%9F%98', '%ED%A0%80'),
  hugeString.map((s) => s.slice(0, 5_000)),
);

function restCases(): fc.Arbitrary<RestCase> {
  const unknownConversation = () => draftConversation(A, other()).id;
  const msgIds = [stored.m1.id, stored.m2.id, stored.m3.id];
  const queryGarbage = fc.oneof(
    fc.constant(''),
    fc.constantFrom('?limit=-1', '?limit=abc', '?before=1e400', '?limit=1&limit=2', '?__proto__=1', '?%24where=1', '?q[$ne]=x', '?x=1', '?limit=1001'),
    fc.tuple(fc.string({ maxLength: 8 }), smallString).map(([k, v]) => `?${enc(k)}=${enc(v)}`),
  );
  const searchQuery = fc.oneof(
    fc.constantFrom('', '?q=', '?q=%20%20', '?q=a&q=b', '?q[$ne]=x', '?q=a&limit=0', '?q=a&limit=101', '?q=a&x=1', `?q=${'y'.repeat(201)}`, '?q=SECRET', '?q=%25', '?q=_'),
    smallString.map((s) => `?q=${enc(s)}`),
  );
  const withBadAuth = (method: string, path: fc.Arbitrary<string>, body = anyBody) =>
    fc.tuple(badAuthHeaders(), path, body).map(([auth, p, bd]) => ({
      ...bd,
      label: `${method} ${p.slice(0, 60)} ${auth.label} ${bd.label}`,
      method,
      path: p,
      auth: auth.auth,
      allow: 'error' as Allow,
    }));
  const as = (who: Who, method: string, path: string, bd: { label: string; body?: string | Buffer; contentType?: string; contentEncoding?: string }, allow: Allow = 'error'): RestCase => ({
    label: `${who} ${method} ${path.slice(0, 60)} ${bd.label}`,
    method,
    path,
    auth: bearer(who),
    who,
    body: bd.body,
    contentType: bd.contentType,
    contentEncoding: bd.contentEncoding,
    allow,
  });
  const convPath = fc.oneof(fc.constant(enc(AB)), fc.constant(enc(CD)), fc.constant('x').map(() => enc(unknownConversation())), garbageId);
  const msgPath = fc.oneof(fc.constantFrom(...msgIds), fc.uuid(), garbageId);
  const sendShape: Shape = { fields: { content: 'string', id: 'string', messageType: 'string', attachments: 'array' }, required: ['content'], bounded: ['content', 'id', 'messageType'], boundedArrays: ['attachments'] };
  const editShape: Shape = { fields: { content: 'string' }, required: ['content'], bounded: ['content'] };
  const createShape: Shape = { fields: { participantId: 'string', jobId: 'nullableString' }, required: ['participantId'], bounded: ['participantId', 'jobId'] };
  const bulkShape: Shape = { fields: { action: 'string', messageIds: 'array' }, required: ['action', 'messageIds'], bounded: ['action'], boundedArrays: ['messageIds'] };
  const registerShape: Shape = { fields: { email: 'string', password: 'string', name: 'string' }, required: ['email', 'password', 'name'], bounded: ['email', 'password', 'name'] };
  const loginShape: Shape = { fields: { email: 'string', password: 'string' }, required: ['email', 'password'], bounded: ['email', 'password'] };
  const json = (v: unknown, label = 'valid body') => ({ label, body: JSON.stringify(v), contentType: 'application/json' });

  const routes: fc.Arbitrary<RestCase>[] = [
    // GET /conversations: a read; a stranger sees only their own.
    fc.tuple(fc.constantFrom<Who>('a', 'c'), queryGarbage).map(([who, q]) => as(who, 'GET', `/api/messages/conversations${q}`, { label: 'list' }, 'read')),
    withBadAuth('GET', fc.constant('/api/messages/conversations')),
    // GET /conversations/:id
    fc.tuple(fc.constantFrom<Who>('a', 'b', 'c'), convPath, queryGarbage).map(([who, id, q]) => as(who, 'GET', `/api/messages/conversations/${id}${q}`, { label: 'messages' }, 'read')),
    withBadAuth('GET', convPath.map((id) => `/api/messages/conversations/${id}`)),
    // POST /conversations: only bodies that must be refused.
    fc.tuple(fc.constantFrom<Who>('a', 'c'), brokenBody({ participantId: D }, createShape)).map(([who, bd]) => as(who, 'POST', '/api/messages/conversations', bd)),
    fc.constantFrom<Who>('a', 'b', 'c').map((who) => as(who, 'POST', '/api/messages/conversations', json({ participantId: who === 'a' ? A : who === 'b' ? B : C }, 'with oneself'))),
    withBadAuth('POST', fc.constant('/api/messages/conversations'), fc.constant(json({ participantId: D }))),
    // POST /conversations/:id/messages
    fc.tuple(fc.constantFrom<Who>('a', 'b'), brokenBody({ content: 'hi' }, sendShape)).map(([who, bd]) => as(who, 'POST', `/api/messages/conversations/${enc(AB)}/messages`, bd)),
    fc.tuple(fc.oneof(fc.constant(enc(AB)), fc.constant('x').map(() => enc(unknownConversation()))), content).map(([id, t]) => as('c', 'POST', `/api/messages/conversations/${id}/messages`, json({ content: t }))),
    fc.tuple(fc.constantFrom<Who>('a', 'c'), garbageId, content).map(([who, id, t]) => as(who, 'POST', `/api/messages/conversations/${id}/messages`, json({ content: t }))),
    fc.constant('x').map(() => as('a', 'POST', `/api/messages/conversations/${enc(unknownConversation())}/messages`, json({ content: 'to nobody' }))),
    fc.constant('x').map(() => as('a', 'POST', `/api/messages/conversations/${enc(AB)}/messages`, json({ content: 'taken id', id: stored.m2.id }))),
    withBadAuth('POST', fc.constant(`/api/messages/conversations/${enc(AB)}/messages`), fc.constant(json({ content: 'hi' }))),
    // POST /conversations/:id/read
    fc.tuple(fc.oneof(fc.constant(enc(AB)), garbageId), anyBody).map(([id, bd]) => as('c', 'POST', `/api/messages/conversations/${id}/read`, bd)),
    fc.tuple(fc.constantFrom<Who>('a', 'b'), garbageId, anyBody).map(([who, id, bd]) => as(who, 'POST', `/api/messages/conversations/${id}/read`, bd)),
    withBadAuth('POST', fc.constant(`/api/messages/conversations/${enc(AB)}/read`)),
    // GET /unread-count: a read.
    fc.tuple(fc.constantFrom<Who>('a', 'c'), queryGarbage).map(([who, q]) => as(who, 'GET', `/api/messages/unread-count${q}`, { label: 'unread' }, 'read')),
    withBadAuth('GET', fc.constant('/api/messages/unread-count')),
    // GET /search: a read; malformed queries are refused.
    fc.tuple(fc.constantFrom<Who>('a', 'c'), searchQuery).map(([who, q]) => as(who, 'GET', `/api/messages/search${q}`, { label: 'search' }, 'read')),
    withBadAuth('GET', fc.constant(`/api/messages/search?q=${SECRET_MARK}`)),
    // POST /bulk
    fc.tuple(fc.constantFrom<Who>('a', 'b', 'c'), brokenBody({ action: 'read', messageIds: [stored.m1.id] }, bulkShape)).map(([who, bd]) => as(who, 'POST', '/api/messages/bulk', bd)),
    fc
      .tuple(fc.constantFrom('read', 'delete'), fc.subarray([...msgIds, '01890a5d-ac96-774b-bcce-b302099a8057'], { minLength: 1 }))
      .map(([action, ids]) => as('c', 'POST', '/api/messages/bulk', json({ action, messageIds: ids }, `stranger ${action}`), 'read')),
    fc.constant('x').map(() => as('a', 'POST', '/api/messages/bulk', json({ action: 'read', messageIds: [stored.m1.id] }, 'sender marks read'), 'read')),
    fc.constant('x').map(() => as('b', 'POST', '/api/messages/bulk', json({ action: 'delete', messageIds: [stored.m1.id] }, 'recipient deletes'), 'read')),
    withBadAuth('POST', fc.constant('/api/messages/bulk'), fc.constant(json({ action: 'delete', messageIds: msgIds }))),
    // POST /:messageId/read
    fc.tuple(msgPath, anyBody).map(([id, bd]) => as('c', 'POST', `/api/messages/${id}/read`, bd)),
    // (The sender of an already-read message would get a no-op 200: nothing changes.)
    fc.constant('x').map(() => as('a', 'POST', `/api/messages/${stored.m1.id}/read`, { label: 'not the recipient' })),
    fc.tuple(fc.constantFrom<Who>('a', 'b'), garbageId).map(([who, id]) => as(who, 'POST', `/api/messages/${id}/read`, { label: 'bad id' })),
    withBadAuth('POST', fc.constant(`/api/messages/${stored.m1.id}/read`)),
    // PATCH /:messageId
    fc.tuple(msgPath, content).map(([id, t]) => as('c', 'PATCH', `/api/messages/${id}`, json({ content: t }))),
    fc
      .tuple(fc.constantFrom(['b', stored.m1.id] as const, ['a', stored.m2.id] as const, ['a', stored.m3.id] as const), content)
      .map(([[who, id], t]) => as(who, 'PATCH', `/api/messages/${id}`, json({ content: `${t}!` }, 'not allowed to edit'))),
    brokenBody({ content: 'edited' }, editShape).map((bd) => as('a', 'PATCH', `/api/messages/${stored.m1.id}`, bd)),
    fc.tuple(fc.constantFrom<Who>('a', 'b'), garbageId).map(([who, id]) => as(who, 'PATCH', `/api/messages/${id}`, json({ content: 'x' }))),
    withBadAuth('PATCH', fc.constant(`/api/messages/${stored.m1.id}`), fc.constant(json({ content: 'hijacked' }))),
    // DELETE /:messageId
    msgPath.map((id) => as('c', 'DELETE', `/api/messages/${id}`, { label: 'stranger' })),
    fc.constantFrom(['b', stored.m1.id] as const, ['a', stored.m2.id] as const).map(([who, id]) => as(who, 'DELETE', `/api/messages/${id}`, { label: 'not the sender' })),
    fc.tuple(fc.constantFrom<Who>('a', 'b'), garbageId).map(([who, id]) => as(who, 'DELETE', `/api/messages/${id}`, { label: 'bad id' })),
    withBadAuth('DELETE', fc.constant(`/api/messages/${stored.m1.id}`)),
    // POST /api/auth/register (refused bodies only) and /api/auth/login (no such account).
    brokenBody({ email: 'new.user@example.com', password: 'long enough pass', name: 'New' }, registerShape).map((bd) => ({
      ...bd,
      label: `register ${bd.label}`,
      method: 'POST',
      path: '/api/auth/register',
      allow: 'error' as Allow,
    })),
    fc
      .oneof(
        brokenBody({ email: 'nobody@example.com', password: 'whatever' }, loginShape),
        fc.tuple(fc.emailAddress(), fc.string({ minLength: 1, maxLength: 50 })).map(([email, password]) => json({ email, password }, 'unknown account')),
      )
      .map((bd) => ({ ...bd, label: `login ${bd.label}`, method: 'POST', path: '/api/auth/login', allow: 'error' as Allow })),
    // Routes that do not exist, any method.
    fc
      .tuple(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND'),
        fc.constantFrom('', '/api', '/api/auth', '/api/messages', '/api/messages/conversations/x'),
        fc.string({ maxLength: 12 }),
        fc.constantFrom<Who | undefined>('a', 'c', undefined),
      )
      .map(([method, prefix, rest, who]) => ({
        label: `${method} unknown route`,
        method,
        path: `${prefix}/zz-${enc(rest)}/more`,
        auth: who ? bearer(who) : undefined,
        who,
        body: method === 'GET' ? undefined : '{}',
        contentType: 'application/json',
        allow: 'error' as Allow,
      })),
  ];
  return fc.oneof(...routes);
}

async function send(rc: RestCase) {
  const headers: Record<string, string> = {};
  if (rc.auth !== undefined) headers.authorization = rc.auth;
  if (rc.contentType) headers['content-type'] = rc.contentType;
  if (rc.contentEncoding) headers['content-encoding'] = rc.contentEncoding;
  const body = rc.method === 'GET' ? undefined : (rc.body as RequestInit['body']);
  const res = await fetch(`${server.url}${rc.path}`, { method: rc.method, headers, body });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

function checkRest(rc: RestCase, res: { status: number; type: string; text: string }) {
  const context = `${rc.label} → ${res.status} ${res.text.slice(0, 300)}`;
  expect(res.type, context).toMatch(/^application\/json/);
  expect(res.text, context).not.toMatch(/<html|<!DOCTYPE/i);
  expect(res.text, context).not.toMatch(STACK);
  expect(res.status, context).toBeLessThan(500);
  const body = JSON.parse(res.text);
  if (res.status >= 400) {
    if ((res.status === 401 || res.status === 403) && typeof body.error === 'string') expect(LEGACY_AUTH, context).toContain(body.error);
    else expectCodedError(body, context);
  } else {
    expect(rc.allow, `${context}: a request that must be refused succeeded`).toBe('read');
    expect(body.data, context).toBeDefined();
  }
  // Nothing of A–B ever reaches someone outside it (bulk echoes the ids it was sent as rejected).
  if (rc.who === 'c' || rc.who === undefined) {
    expect(res.text, context).not.toContain(SECRET_MARK);
    if (res.status < 400) {
      const shown = JSON.stringify(body.data?.updated ?? body.data);
      for (const id of [AB, stored.m1.id, stored.m2.id, stored.m3.id]) expect(shown, context).not.toContain(id);
    }
  }
}

describe('REST routes', () => {
  it(`${RUNS.rest} malformed, unauthenticated or unauthorised requests answer coded JSON errors and change nothing`, async () => {
    await fc.assert(
      fc.asyncProperty(restCases(), async (rc) => {
        casesRun++;
        const res = await unchangedStore(() => send(rc));
        checkRest(rc, res);
      }),
      params(RUNS.rest),
    );
  });
});

describe('afterwards', () => {
  it('nothing was streamed or relayed to anyone while the fuzz ran', async () => {
    // One acknowledged round trip per socket: anything emitted to it before has arrived.
    for (const s of [a, b, c, aQuiet]) expect((await pull(s, { collection: 'messages', checkpoint: null, batchSize: 1 })).error).toBeUndefined();
    expect(streamed).toEqual([]);
    expect(typingSeenByB).toEqual([]);
  });

  it(`ran at least 500 generated cases (${Object.values(RUNS).reduce((x, y) => x + y, 0)} planned)`, () => {
    expect(casesRun).toBeGreaterThanOrEqual(500);
  });

  it('the process is up: health is ok, the old sockets still answer, and a fresh client writes and reads', async () => {
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    for (const s of [a, b, c]) expect(s.connected).toBe(true);
    const fresh = newUserId();
    const socket = await connect(server.url, tokenFor(fresh));
    try {
      const conv = draftConversation(fresh, A);
      expect(await push(socket, { collection: 'conversations', rows: [{ newDocumentState: conv }] })).toEqual({ conflicts: [], rejected: [] });
      const message = draftMessage(conv.id, fresh, A, 'still works');
      expect(await push(socket, { collection: 'messages', rows: [{ newDocumentState: message }] })).toEqual({ conflicts: [], rejected: [] });
      const pulled = await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 10 });
      expect(pulled.documents.map((d: any) => d.content)).toEqual(['still works']);
    } finally {
      socket.close();
    }
  });
});
