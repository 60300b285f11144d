/**
 * Isolation matrix: every read and write path × every kind of caller. Only the participant sees
 * or changes anything of a conversation. Each cell is one named test on a fresh world: users
 * A and B share conversation A–B (two messages carrying a secret marker, one unread by B);
 * C shares C–D with D and nothing with A or B.
 *
 * Callers: the participant (A or B, whichever the path needs); another user (C); no token; an
 * expired token, a wrongly signed one, an unsigned `alg: none` one and a tampered payload, all
 * naming the participant; and a forged sender: C's valid token with a payload that names the
 * participant. The participant's cell is the positive control: it must see or change exactly
 * what the others must not.
 *
 * Writes are judged by the store digest; reads by the absence of A–B's id, message ids and marker
 * in whatever reaches the caller. After the matrix: a socket is cut when its token expires, and a
 * reconnect with a fresh token resumes from its checkpoint with nothing lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuthUser } from '../src/auth/tokens';
import { startSyncServer } from '../src/server';
import { SqliteStore } from '../src/store/sqlite-store';
import { draftConversation, draftMessage } from './support/docs';
import { openTab, type Tab } from './support/presence';
import { storeDigest } from './support/store-digest';
import {
  api,
  type ClientSocket,
  collectStream,
  connect,
  newUserId,
  pull,
  push,
  request,
  startTestServer,
  TEST_SECRET,
  type TestServer,
  tokenFor,
  waitFor,
} from './support/test-server';

const SECRET = 'ISOLATION-SECRET';
const IDENTITIES = [
  'participant',
  'other user',
  'no token',
  'expired token',
  'wrong secret',
  'forged claims (alg none)',
  'forged claims (tampered payload)',
  'forged sender',
] as const;
type Identity = (typeof IDENTITIES)[number];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    presence: { graceMs: 50, typingTtlMs: 600_000, typingThrottleMs: 600_000 },
    rateLimits: { httpRequestsPerMinute: 1_000_000, socketEventsPerSecond: 1_000_000, socketsPerUser: 1_000 },
  });
});
afterAll(async () => {
  await server.stop();
});
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await server.presence.idle();
});

// The world ------------------------------------------------------------------------------------

interface User {
  id: string;
  token: string;
  auth: AuthUser;
}
interface World {
  A: User;
  B: User;
  C: User;
  D: User;
  ab: ConversationDoc;
  cd: ConversationDoc;
  /** A→B, unread. */
  m1: MessageDoc;
  /** B→A, unread. */
  m2: MessageDoc;
}

function user(): User {
  const id = newUserId();
  return { id, token: tokenFor(id), auth: { id, name: null, email: null, expiresAt: null, sessionId: null } };
}

async function world(): Promise<World> {
  const [A, B, C, D] = [user(), user(), user(), user()];
  // Every user's name is known before the conversations exist (the user directory, users/): a
  // caller's first request then has no name to fill in, and a read stays free of writes.
  await Promise.all([A, B, C, D].map((u) => api(server, 'GET', '/api/messages/unread-count', u.token)));
  const ab = (await server.messaging.createConversation(A.auth, B.id, null)).conversation;
  const cd = (await server.messaging.createConversation(C.auth, D.id, null)).conversation;
  const m1 = await server.messaging.sendMessage(A.auth, ab.id, { content: `${SECRET} from A` });
  const m2 = await server.messaging.sendMessage(B.auth, ab.id, { content: `${SECRET} from B` });
  return { A, B, C, D, ab, cd, m1, m2 };
}

// Callers --------------------------------------------------------------------------------------

interface Caller {
  identity: Identity;
  /** The Authorization bearer / handshake token, if any. */
  token?: string;
  /** Whether the server accepts the token (then `as` is who it sees). */
  valid: boolean;
  as?: User;
  /** Whom the request claims to act for. */
  claims: User;
}

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

function caller(identity: Identity, w: World, participant: User): Caller {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  switch (identity) {
    case 'participant':
      return { identity, token: participant.token, valid: true, as: participant, claims: participant };
    case 'other user':
      return { identity, token: w.C.token, valid: true, as: w.C, claims: w.C };
    case 'forged sender':
      return { identity, token: w.C.token, valid: true, as: w.C, claims: participant };
    case 'no token':
      return { identity, valid: false, claims: participant };
    case 'expired token':
      return { identity, token: tokenFor(participant.id, { expiresInSeconds: -30 }), valid: false, claims: participant };
    case 'wrong secret':
      return {
        identity,
        token: tokenFor(participant.id, { secret: 'not-the-server-secret-0123456789' }),
        valid: false,
        claims: participant,
      };
    case 'forged claims (alg none)':
      return {
        identity,
        token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ userId: participant.id, exp })}.`,
        valid: false,
        claims: participant,
      };
    case 'forged claims (tampered payload)': {
      // C's genuine token with the payload swapped for one naming the participant.
      const [header, , signature] = w.C.token.split('.');
      return {
        identity,
        token: `${header}.${b64({ userId: participant.id, name: 'x', exp })}.${signature}`,
        valid: false,
        claims: participant,
      };
    }
  }
}

/** The caller's socket; for a refused token, asserts the handshake fails and returns null. */
async function socketFor(c: Caller): Promise<ClientSocket | null> {
  if (!c.valid) {
    await expect(connect(server.url, c.token ?? '')).rejects.toThrow('unauthorized');
    return null;
  }
  const socket = await connect(server.url, c.token!);
  cleanups.push(() => socket.close());
  return socket;
}

async function tabFor(c: Caller): Promise<Tab | null> {
  if (!c.valid) {
    await expect(openTab(server, c.token ?? '')).rejects.toThrow('unauthorized');
    return null;
  }
  const tab = await openTab(server, c.token!);
  cleanups.push(() => tab.socket.close());
  return tab;
}

async function socketOf(u: User): Promise<ClientSocket> {
  const socket = await connect(server.url, u.token);
  cleanups.push(() => socket.close());
  return socket;
}

function rest(c: Caller, method: string, path: string, body?: unknown) {
  return api(server, method, path, c.token, body);
}

/** A refused token gets FetchWork's legacy answers; nothing else comes back. */
function expectAuthRefused(c: Caller, res: { status: number; body: any }) {
  if (c.token === undefined) expect(res).toEqual({ status: 401, body: { error: 'Access token required' } });
  else expect(res).toEqual({ status: 403, body: { error: 'Invalid token' } });
}

/** Nothing of A–B (its id, its messages' ids, their content) is in what reached the caller. */
function expectNothingOf(w: World, received: unknown) {
  const text = JSON.stringify(received) ?? '';
  expect(text).not.toContain(w.ab.id);
  expect(text).not.toContain(w.m1.id);
  expect(text).not.toContain(w.m2.id);
  expect(text).not.toContain(SECRET);
}

/** Runs `work` and asserts the store did (or did not) change. */
async function writes(expected: boolean, work: () => Promise<void>) {
  const before = storeDigest(server.sqlitePath);
  await work();
  const after = storeDigest(server.sqlitePath);
  if (expected) expect(after).not.toBe(before);
  else expect(after).toBe(before);
}

/** Everything the server emitted to this socket before now has arrived (one connection keeps order). */
async function barrier(socket: ClientSocket) {
  await server.presence.idle();
  expect((await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 1 })).error).toBeUndefined();
}

const enc = encodeURIComponent;
const pullAll = async (socket: ClientSocket, collection: 'messages' | 'conversations') =>
  (await pull(socket, { collection, checkpoint: null, batchSize: 1000 })).documents as any[];
const wire = <T>(doc: T) => ({ ...doc, _deleted: false });

// The paths ------------------------------------------------------------------------------------

interface Path {
  name: string;
  /** Which participant the path's positive control acts as. */
  role: 'A' | 'B';
  run(c: Caller, w: World): Promise<void>;
}

/** A socket read: the participant receives A–B, anyone else nothing of it. */
function socketRead(name: string, collection: 'messages' | 'conversations', role: 'A' | 'B'): Path {
  return {
    name,
    role,
    async run(c, w) {
      await writes(false, async () => {
        const socket = await socketFor(c);
        if (!socket) return;
        if (c.identity === 'forged sender') {
          // Naming someone else in the request is refused, not obeyed.
          const forged = await pull(socket, { collection, checkpoint: null, batchSize: 100, userId: c.claims.id });
          expect(forged.error.code).toBe('VALIDATION_FAILED');
        }
        const docs = await pullAll(socket, collection);
        if (c.identity === 'participant') {
          const expected = collection === 'messages' ? [w.m1.id, w.m2.id] : [w.ab.id];
          expect(docs.map((d) => d.id).sort()).toEqual(expected.sort());
        } else {
          expectNothingOf(w, docs);
          if (collection === 'conversations') expect(docs.map((d) => d.id)).toEqual([w.cd.id]);
        }
      });
    },
  };
}

/** A REST read: the participant gets A–B's data; another caller nothing of it. */
function restRead(
  name: string,
  role: 'A' | 'B',
  request: (c: Caller, w: World) => { method: string; path: string },
  sees: (body: any, w: World) => void,
): Path {
  return {
    name,
    role,
    async run(c, w) {
      await writes(false, async () => {
        const { method, path } = request(c, w);
        const res = await rest(c, method, path);
        if (!c.valid) return expectAuthRefused(c, res);
        if (c.identity === 'participant') {
          expect(res.status).toBe(200);
          sees(res.body, w);
        } else {
          expectNothingOf(w, res.body);
        }
      });
    },
  };
}

/** A REST write: only the participant's changes the store; anyone else is refused and changes nothing. */
function restWrite(
  name: string,
  role: 'A' | 'B',
  request: (c: Caller, w: World) => { method: string; path: string; body?: unknown },
  changed: (w: World) => Promise<void>,
): Path {
  return {
    name,
    role,
    async run(c, w) {
      const participant = c.identity === 'participant';
      await writes(participant, async () => {
        const { method, path, body } = request(c, w);
        const res = await rest(c, method, path, body);
        if (!c.valid) return expectAuthRefused(c, res);
        if (participant) {
          expect(res.status).toBeLessThan(300);
          return changed(w);
        }
        // Refused with a code, or (bulk) answered with every id rejected and nothing updated.
        if (res.status < 300) {
          expect(res.body.data.updated).toEqual([]);
          expect(res.body.data.rejected.length).toBeGreaterThan(0);
        } else {
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.body.error.code).toMatch(/^(NOT_FOUND|FORBIDDEN|VALIDATION_FAILED)$/);
        }
        expectNothingOf(w, res.body.data?.updated ?? res.body);
      });
    },
  };
}

/**
 * A socket push: the participant's row is stored; another caller's row is refused with a code and
 * hands back no stored state.
 */
function socketWrite(
  name: string,
  role: 'A' | 'B',
  collection: 'messages' | 'conversations',
  row: (c: Caller, w: World) => unknown,
  changed: (w: World) => Promise<void>,
): Path {
  return {
    name,
    role,
    async run(c, w) {
      const participant = c.identity === 'participant';
      await writes(participant, async () => {
        const socket = await socketFor(c);
        if (!socket) return;
        const answer = await push(socket, { collection, rows: [row(c, w)] });
        if (participant) {
          expect(answer).toEqual({ conflicts: [], rejected: [] });
          return changed(w);
        }
        expect(answer.conflicts).toEqual([]);
        expect(answer.rejected.map((r: any) => r.code)).toEqual([expect.stringMatching(/^(FORBIDDEN|ID_TAKEN)$/)]);
      });
    },
  };
}

async function messageOf(id: string): Promise<MessageDoc> {
  const [doc] = await server.store.getDocs('messages', [id]);
  return doc!;
}

const PATHS: Path[] = [
  socketRead('sync:pull messages', 'messages', 'B'),
  socketRead('sync:pull conversations', 'conversations', 'A'),
  {
    name: 'sync:stream',
    role: 'B',
    async run(c, w) {
      const socket = await socketFor(c);
      if (socket) {
        await pullAll(socket, 'messages');
        await pullAll(socket, 'conversations');
      }
      const events = socket ? collectStream(socket) : [];
      if (socket && c.identity === 'forged sender') {
        // Joining someone else's room is not an event the server knows.
        const join = await (socket.timeout(5000) as any).emitWithAck('join', `user:${c.claims.id}`);
        expect(join.error.code).toBe('VALIDATION_FAILED');
      }
      const sent = await server.messaging.sendMessage(w.A.auth, w.ab.id, { content: `${SECRET} streamed` });
      if (!socket) return;
      if (c.identity === 'participant') {
        await waitFor(
          () => events.some((e) => e.collection === 'messages' && (e.resync || e.documents.some((d: any) => d.id === sent.id))),
          'the stream',
        );
        return;
      }
      await barrier(socket);
      expect(events).toEqual([]);
    },
  },
  {
    name: 'sync:bootstrap + sync:history',
    role: 'B',
    async run(c, w) {
      await writes(false, async () => {
        const socket = await socketFor(c);
        if (!socket) return;
        if (c.identity === 'forged sender') {
          const forged = await request(socket, 'sync:bootstrap', { collection: 'messages', pageSize: 10, userId: c.claims.id });
          expect(forged.error.code).toBe('VALIDATION_FAILED');
        }
        for (const collection of ['messages', 'conversations'] as const) {
          const start = await request(socket, 'sync:bootstrap', { collection, pageSize: 1 });
          const walked = start.history
            ? await request(socket, 'sync:history', { collection, before: start.history.before, limit: 1000 })
            : null;
          // (The messages walk starts above the bootstrap: overlaps are expected.)
          const ids = [...new Set([...start.documents, ...(walked?.documents ?? [])].map((d: any) => d.id))].sort();
          if (c.identity === 'participant') {
            expect(ids).toEqual((collection === 'messages' ? [w.m1.id, w.m2.id] : [w.ab.id]).sort());
          } else {
            expectNothingOf(w, [start, walked]);
            expect(ids).toEqual(collection === 'messages' ? [] : [w.cd.id]);
          }
        }
      });
    },
  },
  {
    name: 'sync:page',
    role: 'A',
    async run(c, w) {
      await writes(false, async () => {
        const socket = await socketFor(c);
        if (!socket) return;
        const ask = (conversationId: string, extra: object = {}) =>
          request(socket, 'sync:page', { conversationId, before: null, limit: 10, ...extra });
        if (c.identity === 'forged sender') expect((await ask(w.ab.id, { userId: c.claims.id })).error.code).toBe('VALIDATION_FAILED');
        const answer = await ask(w.ab.id);
        if (c.identity === 'participant') {
          expect(answer.documents.map((d: any) => d.id)).toEqual([w.m2.id, w.m1.id]);
          return;
        }
        expectNothingOf(w, answer);
        // The same answer as for a conversation that does not exist: nothing tells whether A–B does.
        expect(answer).toEqual(await ask(draftConversation(w.A.id, newUserId()).id));
        expect(answer.error.code).toBe('NOT_FOUND');
      });
    },
  },
  restRead(
    'REST GET /conversations',
    'A',
    (c) => ({ method: 'GET', path: `/api/messages/conversations${c.identity === 'forged sender' ? `?userId=${c.claims.id}` : ''}` }),
    (body, w) => expect(body.data.map((d: any) => d.id)).toEqual([w.ab.id]),
  ),
  restRead(
    'REST GET /conversations/:id',
    'B',
    (c, w) => ({
      method: 'GET',
      path: `/api/messages/conversations/${enc(w.ab.id)}${c.identity === 'forged sender' ? `?as=${c.claims.id}` : ''}`,
    }),
    (body, w) => expect(body.data.map((d: any) => d.id)).toEqual([w.m1.id, w.m2.id]),
  ),
  restRead(
    'REST GET /search',
    'B',
    (c) => ({ method: 'GET', path: `/api/messages/search?q=${SECRET}${c.identity === 'forged sender' ? `&userId=${c.claims.id}` : ''}` }),
    (body, w) => expect(body.data.map((d: any) => d.id).sort()).toEqual([w.m1.id, w.m2.id].sort()),
  ),
  restRead(
    'REST GET /unread-count',
    'B',
    (c) => ({ method: 'GET', path: `/api/messages/unread-count${c.identity === 'forged sender' ? `?userId=${c.claims.id}` : ''}` }),
    (body) => expect(body.data.count).toBe(1),
  ),
  {
    name: 'presence (user:online, user:offline, presence:state)',
    role: 'B',
    async run(c, w) {
      // The caller watches while A comes online, a second tab of the caller connects, and A goes.
      const first = await tabFor(c);
      const aSocket = await connect(server.url, w.A.token);
      await server.presence.idle();
      const second = await tabFor(c);
      if (second && c.identity === 'forged sender') {
        const ask = await (second.socket.timeout(5000) as any).emitWithAck('presence:subscribe', { userId: w.A.id });
        expect(ask.error.code).toBe('VALIDATION_FAILED');
      }
      const aId = aSocket.id!;
      aSocket.close();
      await waitFor(() => !server.io.of('/').sockets.has(aId), 'A’s socket to go');
      await server.presence.idle();
      if (!first || !second) return;
      await barrier(first.socket);
      await barrier(second.socket);
      const about = (tab: Tab) => tab.events.filter((e) => JSON.stringify(e.payload ?? null).includes(w.A.id)).map((e) => e.event);
      if (c.identity === 'participant') {
        expect(about(first)).toEqual(['user:online', 'user:offline']);
        expect(second.of('presence:state')[0].online).toContain(w.A.id);
      } else {
        expect(about(first)).toEqual([]);
        expect(about(second)).toEqual([]);
        expect(second.of('presence:state')).toEqual([{ online: [] }]);
      }
    },
  },
  {
    name: 'typing (receive)',
    role: 'B',
    async run(c, w) {
      const tab = await tabFor(c);
      const typist = await socketOf(w.A);
      expect(await (typist.timeout(5000) as any).emitWithAck('typing:start', { conversationId: w.ab.id })).toEqual({ ok: true });
      if (!tab) return;
      if (c.identity === 'participant') {
        await waitFor(() => tab.of('typing:start').length === 1, 'B to see A typing');
        expect(tab.of('typing:start')).toEqual([{ conversationId: w.ab.id, userId: w.A.id }]);
        return;
      }
      await barrier(tab.socket);
      expect(tab.events.filter((e) => e.event.startsWith('typing:'))).toEqual([]);
      expectNothingOf(w, tab.events);
    },
  },
  {
    name: 'typing (send)',
    role: 'A',
    async run(c, w) {
      const watcher = await openTab(server, w.B.token);
      cleanups.push(() => watcher.socket.close());
      const socket = await socketFor(c);
      if (socket) {
        const payload = c.identity === 'forged sender' ? { conversationId: w.ab.id, userId: c.claims.id } : { conversationId: w.ab.id };
        const answer = await (socket.timeout(5000) as any).emitWithAck('typing:start', payload);
        if (c.identity === 'participant') {
          expect(answer).toEqual({ ok: true });
          await waitFor(() => watcher.of('typing:start').length === 1, 'B to see A typing');
          return;
        }
        expect(answer.error.code).toBe(c.identity === 'forged sender' ? 'VALIDATION_FAILED' : 'FORBIDDEN');
        // The same answer for a conversation that does not exist: nothing tells whether A–B does.
        const unknown = await (socket.timeout(5000) as any).emitWithAck('typing:start', {
          conversationId: draftConversation(w.A.id, newUserId()).id,
        });
        if (c.identity === 'other user') expect(unknown).toEqual(answer);
      }
      await barrier(watcher.socket);
      expect(watcher.events.filter((e) => e.event.startsWith('typing:'))).toEqual([]);
    },
  },
  socketWrite(
    'sync:push message (create)',
    'A',
    'messages',
    (c, w) => ({
      newDocumentState: draftMessage(
        w.ab.id,
        c.identity === 'other user' ? w.C.id : w.A.id,
        c.identity === 'other user' ? w.A.id : w.B.id,
        'new message',
      ),
    }),
    async (w) => {
      const docs = await pullAll(await socketOf(w.B), 'messages');
      expect(docs.filter((d) => d.content === 'new message')).toHaveLength(1);
    },
  ),
  socketWrite(
    'sync:push message (edit)',
    'A',
    'messages',
    (c, w) => {
      const stored = wire(w.m1);
      const mine = c.identity === 'other user' ? { ...stored, sender: w.C.id } : stored;
      return { assumedMasterState: stored, newDocumentState: { ...mine, content: 'edited' } };
    },
    async (w) => expect((await messageOf(w.m1.id)).content).toBe('edited'),
  ),
  socketWrite(
    'sync:push read receipt',
    'B',
    'messages',
    (c, w) => {
      const now = new Date().toISOString();
      const stored = wire(w.m1);
      const mine = c.identity === 'other user' ? { ...stored, recipient: w.C.id } : stored;
      return { assumedMasterState: stored, newDocumentState: { ...mine, isRead: true, readAt: now, deliveredAt: now } };
    },
    async (w) => expect((await messageOf(w.m1.id)).isRead).toBe(true),
  ),
  {
    name: 'sync:push conversation (create or change)',
    role: 'A',
    async run(c, w) {
      const participant = c.identity === 'participant';
      await writes(participant, async () => {
        const socket = await socketFor(c);
        if (!socket) return;
        const withJob = draftConversation(w.A.id, w.B.id, 'job1');
        if (participant) {
          expect(await push(socket, { collection: 'conversations', rows: [{ newDocumentState: withJob }] })).toEqual({
            conflicts: [],
            rejected: [],
          });
          return;
        }
        const stored = wire(w.ab);
        const rows = [
          { newDocumentState: withJob },
          { assumedMasterState: stored, newDocumentState: { ...stored, participants: [w.A.id, w.C.id].sort() } },
        ];
        const answer = await push(socket, { collection: 'conversations', rows });
        expect(answer.conflicts).toEqual([]);
        // (Re-pointing A–B at C is refused as a creation would be: the id does not name C.)
        expect(answer.rejected.map((r: any) => r.code)).toEqual(['FORBIDDEN', expect.stringMatching(/^(FORBIDDEN|VALIDATION_FAILED)$/)]);
        // An existing conversation of others is answered exactly like one that does not exist.
        const exists = await push(socket, { collection: 'conversations', rows: [{ newDocumentState: draftConversation(w.A.id, w.B.id) }] });
        const missing = await push(socket, {
          collection: 'conversations',
          rows: [{ newDocumentState: draftConversation(w.A.id, newUserId()) }],
        });
        expect(exists.rejected.map((r: any) => [r.code, r.message])).toEqual(missing.rejected.map((r: any) => [r.code, r.message]));
        const sender = c.identity === 'other user' ? w.C.id : w.A.id;
        const intoExisting = await push(socket, {
          collection: 'messages',
          rows: [{ newDocumentState: draftMessage(w.ab.id, sender, w.B.id, 'x') }],
        });
        const intoMissing = await push(socket, {
          collection: 'messages',
          rows: [{ newDocumentState: draftMessage(draftConversation(w.A.id, newUserId()).id, sender, w.A.id, 'x') }],
        });
        expect(intoExisting.rejected.map((r: any) => [r.code, r.message])).toEqual(
          intoMissing.rejected.map((r: any) => [r.code, r.message]),
        );
      });
    },
  },
  restWrite(
    'REST POST /conversations/:id/messages',
    'A',
    (c, w) => ({
      method: 'POST',
      path: `/api/messages/conversations/${enc(w.ab.id)}/messages`,
      body: c.identity === 'forged sender' ? { content: 'posted', sender: c.claims.id } : { content: 'posted' },
    }),
    async (w) => expect((await server.store.listMessages(w.ab.id, { limit: 10 })).filter((m) => m.content === 'posted')).toHaveLength(1),
  ),
  restWrite(
    'REST POST /:messageId/read',
    'B',
    (c, w) => ({
      method: 'POST',
      path: `/api/messages/${w.m1.id}/read`,
      body: c.identity === 'forged sender' ? { userId: c.claims.id } : undefined,
    }),
    async (w) => expect((await messageOf(w.m1.id)).isRead).toBe(true),
  ),
  restWrite(
    'REST POST /conversations/:id/read',
    'B',
    (c, w) => ({
      method: 'POST',
      path: `/api/messages/conversations/${enc(w.ab.id)}/read`,
      body: c.identity === 'forged sender' ? { userId: c.claims.id } : undefined,
    }),
    async (w) => expect((await messageOf(w.m1.id)).isRead).toBe(true),
  ),
  restWrite(
    'REST PATCH /:messageId',
    'A',
    (c, w) => ({
      method: 'PATCH',
      path: `/api/messages/${w.m1.id}`,
      body: c.identity === 'forged sender' ? { content: 'edited', sender: c.claims.id } : { content: 'edited' },
    }),
    async (w) => expect((await messageOf(w.m1.id)).content).toBe('edited'),
  ),
  restWrite(
    'REST DELETE /:messageId',
    'A',
    (_c, w) => ({ method: 'DELETE', path: `/api/messages/${w.m1.id}` }),
    async (w) => expect((await messageOf(w.m1.id)).isDeleted).toBe(true),
  ),
  restWrite(
    'REST POST /bulk',
    'B',
    (c, w) => ({
      method: 'POST',
      path: '/api/messages/bulk',
      body: { action: 'read', messageIds: [w.m1.id], ...(c.identity === 'forged sender' ? { userId: c.claims.id } : {}) },
    }),
    async (w) => expect((await messageOf(w.m1.id)).isRead).toBe(true),
  ),
];

describe('isolation matrix: only the participant sees or changes anything', () => {
  for (const path of PATHS) {
    describe(path.name, () => {
      for (const identity of IDENTITIES) {
        it(`${path.name} × ${identity}`, async () => {
          const w = await world();
          await path.run(caller(identity, w, path.role === 'A' ? w.A : w.B), w);
        });
      }
    });
  }
});

describe('token expiry on an open socket', () => {
  it('cuts the socket when its token expires; a reconnect with a fresh token resumes from its checkpoint with nothing lost', async () => {
    const w = await world();
    let issued = 0;
    // The first token lives 2–3 s (exp has whole seconds); every later one (the reconnect's auth callback) an hour.
    const socket = await connect(server.url, () => tokenFor(w.B.id, { expiresInSeconds: issued++ === 0 ? 3 : 3600 }), {
      reconnection: true,
    });
    cleanups.push(() => socket.close());
    const expired: string[] = [];
    socket.on('auth:expired', () => expired.push('auth:expired'));
    const cut = new Promise<string>((resolve) => socket.once('disconnect', resolve));

    const first = await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 100 });
    expect(first.documents.map((d: any) => d.id).sort()).toEqual([w.m1.id, w.m2.id].sort());
    const checkpoint = first.checkpoint;

    expect(await cut).toBe('io server disconnect');
    expect(expired).toEqual(['auth:expired']);
    // The expired token opens nothing any more.
    expect((await api(server, 'GET', '/api/messages/unread-count', tokenFor(w.B.id, { expiresInSeconds: -1 }))).status).toBe(403);

    // While B is cut off, A writes: three new messages and an edit of one B already holds.
    const sentWhileCut: string[] = [];
    for (const n of [1, 2, 3]) sentWhileCut.push((await server.messaging.sendMessage(w.A.auth, w.ab.id, { content: `while cut ${n}` })).id);
    await server.messaging.editMessage(w.A.auth, w.m1.id, 'edited while cut');

    // socket.io-client does not reconnect by itself after a server-side disconnect.
    socket.connect();
    await waitFor(() => socket.connected, 'the reconnect');
    expect(issued).toBe(2);
    const resumed = await pull(socket, { collection: 'messages', checkpoint, batchSize: 100 });
    const ids = resumed.documents.map((d: any) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual([...sentWhileCut, w.m1.id].sort());
    expect(resumed.documents.find((d: any) => d.id === w.m1.id).content).toBe('edited while cut');
    expect((await pull(socket, { collection: 'messages', checkpoint: resumed.checkpoint, batchSize: 100 })).documents).toEqual([]);

    // Replaying what B held plus what it resumed gives exactly the server's state.
    const held = new Map<string, any>();
    for (const d of [...first.documents, ...resumed.documents]) held.set(d.id, d);
    const full = await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 100 });
    expect([...held.values()].sort((x, y) => x.id.localeCompare(y.id))).toEqual(
      [...full.documents].sort((x: any, y: any) => x.id.localeCompare(y.id)),
    );

    // And the live stream works again on the new connection.
    const events = collectStream(socket);
    const live = await server.messaging.sendMessage(w.A.auth, w.ab.id, { content: 'after the reconnect' });
    await waitFor(() => events.some((e) => e.resync || e.documents?.some((d: any) => d.id === live.id)), 'the stream after the reconnect');
  });
});

describe('logs', () => {
  it('hold no token, no message content and no search term, even at debug level', async () => {
    const lines: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'fw-logs-'));
    const logged = await startSyncServer({
      store: new SqliteStore({ path: join(dir, 'store.sqlite') }),
      log: pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }),
      jwtSecret: TEST_SECRET,
      corsOrigins: ['http://localhost:3000'],
      port: 0,
      host: '127.0.0.1',
    });
    try {
      const [a, b] = [user(), user()];
      const conv = (await api(logged, 'POST', '/api/messages/conversations', a.token, { participantId: b.id })).body.data;
      const secretWord = 'zebracorn42';
      expect(
        (await api(logged, 'POST', `/api/messages/conversations/${enc(conv.id)}/messages`, a.token, { content: `hello ${secretWord}` }))
          .status,
      ).toBe(201);
      expect((await api(logged, 'GET', `/api/messages/search?q=${secretWord}`, b.token)).body.data).toHaveLength(1);
      const socket = await connect(logged.url, b.token);
      await pull(socket, { collection: 'messages', checkpoint: null, batchSize: 10 });
      socket.close();
      await expect(connect(logged.url, 'not-a-token-but-secret-looking')).rejects.toThrow('unauthorized');
      expect(lines.length).toBeGreaterThan(0);
      const all = lines.join('\n');
      expect(all).toContain('/api/messages/search');
      for (const secret of [secretWord, a.token, b.token, a.token.split('.')[2]!, 'not-a-token-but-secret-looking'])
        expect(all).not.toContain(secret);
    } finally {
      await logged.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
