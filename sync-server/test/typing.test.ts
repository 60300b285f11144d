import { afterEach, describe, expect, it } from 'vitest';
import type { PresenceOptions } from '../src/realtime/presence';
import { draftMessage } from './support/docs';
import { converse, newUser, openTab, settled, startPresenceServer, type Tab, typingEvents, type User } from './support/presence';
import { api, push, type TestServer, waitFor } from './support/test-server';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Long enough that only the mechanism under test can end typing. */
const NEVER = 600_000;

async function world(presence: PresenceOptions = {}) {
  const server = await startPresenceServer({ graceMs: 50, typingTtlMs: NEVER, typingThrottleMs: NEVER, ...presence });
  cleanups.push(() => server.stop());
  const [a, b, c] = [newUser(), newUser(), newUser()];
  const ab = await converse(server, a, b);
  const bc = await converse(server, b, c);
  const open = async (user: User): Promise<Tab> => {
    const t = await openTab(server, user.token);
    cleanups.push(() => {
      t.socket.close();
    });
    return t;
  };
  return { server, a, b, c, ab, bc, open };
}

function emit(tab: Tab, event: 'typing:start' | 'typing:stop', payload: unknown): Promise<any> {
  return (tab.socket.timeout(5000) as any).emitWithAck(event, payload);
}

const typingOf = (tab: Tab) => typingEvents(tab).map((e) => ({ event: e.event, ...e.payload }));

async function barrier(server: TestServer, ...tabs: Tab[]) {
  await settled(server, ...tabs);
}

describe('typing', () => {
  it('reaches the other participant only: not a stranger, not the typist’s other tab', async () => {
    const { server, a, b, c, ab, open } = await world();
    const a1 = await open(a);
    const a2 = await open(a);
    const bTab = await open(b);
    // C talks with B but not with A; D talks with nobody.
    const cTab = await open(c);
    const dTab = await open(newUser());
    expect(await emit(a1, 'typing:start', { conversationId: ab })).toEqual({ ok: true });
    await waitFor(() => typingOf(bTab).length === 1, 'B to see A typing');
    expect(typingOf(bTab)).toEqual([{ event: 'typing:start', conversationId: ab, userId: a.id }]);
    expect(await emit(a1, 'typing:stop', { conversationId: ab })).toEqual({ ok: true });
    await waitFor(() => typingOf(bTab).length === 2, 'B to see A stop');
    expect(typingOf(bTab)[1]).toEqual({ event: 'typing:stop', conversationId: ab, userId: a.id });
    await barrier(server, a1, a2, cTab, dTab);
    expect(typingOf(a1)).toEqual([]);
    expect(typingOf(a2)).toEqual([]);
    expect(typingOf(cTab)).toEqual([]);
    expect(typingOf(dTab)).toEqual([]);
  });

  it('stops by itself when no typing:stop comes', async () => {
    const { a, b, ab, open } = await world({ typingTtlMs: 200 });
    const aTab = await open(a);
    const bTab = await open(b);
    expect(await emit(aTab, 'typing:start', { conversationId: ab })).toEqual({ ok: true });
    await waitFor(() => typingOf(bTab).some((e) => e.event === 'typing:stop'), 'typing to expire');
    expect(typingOf(bTab)).toEqual([
      { event: 'typing:start', conversationId: ab, userId: a.id },
      { event: 'typing:stop', conversationId: ab, userId: a.id },
    ]);
    expect(aTab.socket.connected).toBe(true);
  });

  it('refuses a conversation the sender is not part of, with a code, and relays nothing', async () => {
    const { server, a, b, c, bc, open } = await world();
    const aTab = await open(a);
    const bTab = await open(b);
    const cTab = await open(c);
    const forbidden = await emit(aTab, 'typing:start', { conversationId: bc });
    expect(forbidden.error.code).toBe('FORBIDDEN');
    expect(typeof forbidden.error.message).toBe('string');
    // A conversation that does not exist gets the same answer (nothing leaks about who talks).
    expect((await emit(aTab, 'typing:start', { conversationId: `c.${a.id}.${newUser().id}` })).error.code).toBe('FORBIDDEN');
    expect((await emit(aTab, 'typing:stop', { conversationId: bc })).error.code).toBe('FORBIDDEN');
    expect((await emit(aTab, 'typing:start', { conversationId: 'not a conversation' })).error.code).toBe('VALIDATION_FAILED');
    expect((await emit(aTab, 'typing:start', { conversationId: bc, userId: b.id })).error.code).toBe('VALIDATION_FAILED');
    expect((await emit(aTab, 'typing:start', null)).error.code).toBe('VALIDATION_FAILED');
    expect((await emit(aTab, 'typing:start', JSON.parse('{"__proto__":{"x":1},"conversationId":"c.a.b"}'))).error.code).toBe(
      'FORBIDDEN_KEY',
    );
    await barrier(server, bTab, cTab);
    expect(typingOf(bTab)).toEqual([]);
    expect(typingOf(cTab)).toEqual([]);
  });

  it('stops when the typist sends a message in that conversation, not when the other side reads', async () => {
    const { server, a, b, ab, open } = await world();
    const aTab = await open(a);
    const bTab = await open(b);
    await emit(aTab, 'typing:start', { conversationId: ab });
    await waitFor(() => typingOf(bTab).length === 1, 'B to see A typing');
    const message = draftMessage(ab, a.id, b.id, 'done typing');
    expect(await push(aTab.socket, { collection: 'messages', rows: [{ newDocumentState: message }] })).toEqual({
      conflicts: [],
      rejected: [],
    });
    await waitFor(() => typingOf(bTab).length === 2, 'the message to stop A’s typing');
    expect(typingOf(bTab)[1]).toEqual({ event: 'typing:stop', conversationId: ab, userId: a.id });

    // A types again; B reading A's message is a write to A's message, but not a new one from A.
    await emit(aTab, 'typing:start', { conversationId: ab });
    await waitFor(() => typingOf(bTab).length === 3, 'B to see A typing again');
    expect((await api(server, 'POST', `/api/messages/${message.id}/read`, b.token)).status).toBe(200);
    await barrier(server, bTab);
    expect(typingOf(bTab).map((e) => e.event)).toEqual(['typing:start', 'typing:stop', 'typing:start']);

    // A message sent over REST stops it too.
    const sent = await api(server, 'POST', `/api/messages/conversations/${encodeURIComponent(ab)}/messages`, a.token, {
      content: 'via REST',
    });
    expect(sent.status).toBe(201);
    await waitFor(() => typingOf(bTab).length === 4, 'the REST message to stop A’s typing');
    expect(typingOf(bTab)[3]).toEqual({ event: 'typing:stop', conversationId: ab, userId: a.id });
  });

  it('stops when the typist’s socket disconnects', async () => {
    const { a, b, ab, open } = await world();
    const aTab = await open(a);
    const bTab = await open(b);
    await emit(aTab, 'typing:start', { conversationId: ab });
    await waitFor(() => typingOf(bTab).length === 1, 'B to see A typing');
    aTab.socket.close();
    await waitFor(() => typingOf(bTab).length === 2, 'the disconnect to stop A’s typing');
    expect(typingOf(bTab)[1]).toEqual({ event: 'typing:stop', conversationId: ab, userId: a.id });
  });

  it('relays repeated starts of one socket at most once per throttle window', async () => {
    const { server, a, b, ab, open } = await world();
    const aTab = await open(a);
    const bTab = await open(b);
    for (let i = 0; i < 5; i++) expect(await emit(aTab, 'typing:start', { conversationId: ab })).toEqual({ ok: true });
    await barrier(server, bTab);
    expect(typingOf(bTab).map((e) => e.event)).toEqual(['typing:start']);
  });

  it('relays a keep-alive start once the throttle window has passed', async () => {
    const { a, b, ab, open } = await world({ typingThrottleMs: 0 });
    const aTab = await open(a);
    const bTab = await open(b);
    await emit(aTab, 'typing:start', { conversationId: ab });
    await emit(aTab, 'typing:start', { conversationId: ab });
    await waitFor(() => typingOf(bTab).length === 2, 'the second start to be relayed');
    expect(typingOf(bTab).map((e) => e.event)).toEqual(['typing:start', 'typing:start']);
  });

  it('with two tabs typing, the user stops only when both have stopped', async () => {
    const { server, a, b, ab, open } = await world();
    const a1 = await open(a);
    const a2 = await open(a);
    const bTab = await open(b);
    await emit(a1, 'typing:start', { conversationId: ab });
    await emit(a2, 'typing:start', { conversationId: ab });
    await emit(a1, 'typing:stop', { conversationId: ab });
    await barrier(server, bTab);
    expect(typingOf(bTab).map((e) => e.event)).toEqual(['typing:start', 'typing:start']);
    await emit(a2, 'typing:stop', { conversationId: ab });
    await waitFor(() => typingOf(bTab).length === 3, 'B to see A stop');
    expect(typingOf(bTab)[2]!.event).toBe('typing:stop');
  });

  it('refuses a flood of typing events from one socket', async () => {
    const { a, ab, open } = await world();
    const aTab = await open(a);
    const answers = await Promise.all(Array.from({ length: 25 }, () => emit(aTab, 'typing:start', { conversationId: ab })));
    expect(answers.filter((r) => r.error?.code === 'RATE_LIMITED').length).toBeGreaterThan(0);
    expect(answers.filter((r) => r.ok === true).length).toBeGreaterThan(0);
  });
});
