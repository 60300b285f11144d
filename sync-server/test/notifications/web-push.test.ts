import { NOTIFICATION_ROUTES, notificationPushPayloadSchema } from '@fetchwork/shared-schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushEndpoint } from '../support/push-endpoint';
import { api, type TestServer, waitFor } from '../support/test-server';
import { conversation, focus, send, settled, socketOf, startWithPush, subscribe, type User, user } from './setup';

let server: TestServer;
let push: PushEndpoint;

beforeAll(async () => {
  ({ server, push } = await startWithPush());
});

afterAll(async () => {
  await server?.stop();
  await push?.close();
});

/** Alice and Bob in a conversation; Bob's browser subscribed. */
async function pair() {
  const alice = user('Alice Client');
  const bob = user('Bob Freelancer');
  const conversationId = await conversation(server, alice, bob);
  const bobDevice = await subscribe(server, bob, push);
  return { alice, bob, conversationId, bobDevice };
}

const settings = (who: User, body: unknown) => api(server, 'PATCH', NOTIFICATION_ROUTES.settings, who.token, body);

describe('Web Push to a real push endpoint (VAPID checked, payload decrypted)', () => {
  it("a message reaches the recipient's device: sender's name, preview, conversation, high urgency, a topic", async () => {
    const { alice, conversationId, bobDevice } = await pair();
    const long = `Hello Bob! ${'x'.repeat(200)}`;
    const messageId = await send(server, alice, conversationId, long);
    await settled(server);
    expect(push.refused).toEqual([]);
    const [received, ...more] = push.for(bobDevice.id);
    expect(more).toEqual([]);
    expect(notificationPushPayloadSchema.parse(received!.payload)).toEqual({
      kind: 'message',
      conversationId,
      messageId,
      senderName: 'Alice Client',
      preview: long.slice(0, 120),
      unread: 1,
      sentAt: expect.any(String),
    });
    expect(received!.urgency).toBe('high');
    expect(received!.ttl).toBe(24 * 3600);
    // The push service sees the topic: it is stable per conversation and does not name it.
    expect(received!.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(conversationId).not.toContain(received!.topic);
    await send(server, alice, conversationId, 'second');
    await settled(server);
    const second = push.for(bobDevice.id)[1]!;
    expect(second.topic).toBe(received!.topic);
    expect(second.payload).toMatchObject({ preview: 'second', unread: 2 });
  });

  it('private previews carry no text; the change reaches every socket of the user', async () => {
    const { alice, bob, conversationId, bobDevice } = await pair();
    const socket = await socketOf(server, bob);
    const announced = new Promise<any>((resolve) => socket.once('notifications:settings', resolve));
    const changed = await settings(bob, { previews: 'private' });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toMatchObject({ previews: 'private', muted: [] });
    expect(await announced).toEqual(changed.body.data);
    socket.close();
    await send(server, alice, conversationId, 'a secret plan');
    await settled(server);
    expect(push.for(bobDevice.id).map((p) => p.payload)).toEqual([
      expect.objectContaining({ kind: 'message', senderName: 'Alice Client', preview: null }),
    ]);
  });

  it("no push for the sender's own message, on any of the sender's devices", async () => {
    const { alice, conversationId, bobDevice } = await pair();
    const aliceDevice = await subscribe(server, alice, push);
    await send(server, alice, conversationId, 'hi');
    await settled(server);
    expect(push.for(aliceDevice.id)).toEqual([]);
    expect(push.for(bobDevice.id)).toHaveLength(1);
  });

  it('no push for a muted conversation; again after unmuting', async () => {
    const { alice, bob, conversationId, bobDevice } = await pair();
    expect((await settings(bob, { mute: { conversationId, muted: true } })).body.data.muted).toEqual([conversationId]);
    await send(server, alice, conversationId, 'while muted');
    await settled(server);
    expect(push.for(bobDevice.id)).toEqual([]);
    await settings(bob, { mute: { conversationId, muted: false } });
    const id = await send(server, alice, conversationId, 'after unmute');
    await settled(server);
    expect(push.for(bobDevice.id).map((p) => p.payload.messageId)).toEqual([id]);
  });

  it('no push while the conversation is focused on one of the recipient’s sockets; pushes again after focus null and after disconnect', async () => {
    const { alice, bob, conversationId, bobDevice } = await pair();
    const other = await conversation(server, alice, bob, 'aaaaaaaaaaaaaaaaaaaaaaa1');
    const socket = await socketOf(server, bob);
    expect(await focus(socket, conversationId)).toEqual({ ok: true });
    await send(server, alice, conversationId, 'seen on screen');
    const elsewhere = await send(server, alice, other, 'another conversation');
    await settled(server);
    expect(push.for(bobDevice.id).map((p) => p.payload.messageId)).toEqual([elsewhere]);

    expect(await focus(socket, null)).toEqual({ ok: true });
    const afterBlur = await send(server, alice, conversationId, 'tab in the background');
    await settled(server);
    expect(push.for(bobDevice.id).map((p) => p.payload.messageId)).toEqual([elsewhere, afterBlur]);

    expect(await focus(socket, conversationId)).toEqual({ ok: true });
    socket.close();
    await waitFor(async () => (await server.notifications.focusedConversations(bob.id)).size === 0, 'focus cleared on disconnect');
    const afterClose = await send(server, alice, conversationId, 'tab closed');
    await settled(server);
    expect(push.for(bobDevice.id).map((p) => p.payload.messageId)).toEqual([elsewhere, afterBlur, afterClose]);
  });

  it('a 410 from the push service removes the subscription; the other devices still get theirs', async () => {
    const { alice, bob, conversationId, bobDevice } = await pair();
    const second = await subscribe(server, bob, push);
    push.answer(bobDevice.id, { status: 410 });
    await send(server, alice, conversationId, 'to both');
    await settled(server);
    const records = server.store.pushRecords();
    expect(await records.getSubscription(bobDevice.json.endpoint)).toBeNull();
    expect(await records.getSubscription(second.json.endpoint)).toMatchObject({
      userId: bob.id,
      failures: 0,
      lastSuccessAt: expect.any(String),
    });
    expect(push.for(second.id)).toHaveLength(1);
    const before = push.requests(bobDevice.id);
    await send(server, alice, conversationId, 'again');
    await settled(server);
    expect(push.requests(bobDevice.id)).toBe(before);
  });

  it('503 with Retry-After is retried and then delivered', async () => {
    const { alice, conversationId, bobDevice } = await pair();
    push.answer(bobDevice.id, { status: 503, headers: { 'retry-after': '1' } });
    const id = await send(server, alice, conversationId, 'eventually');
    await waitFor(() => push.requests(bobDevice.id) === 1, 'the first attempt');
    push.answer(bobDevice.id, null);
    await settled(server);
    expect(push.requests(bobDevice.id)).toBe(2);
    expect(push.for(bobDevice.id).map((p) => p.payload.messageId)).toEqual([id]);
  });

  it('a push service that keeps failing is given up after a few tries and the failure counted', async () => {
    const { alice, bob, conversationId, bobDevice } = await pair();
    push.answer(bobDevice.id, { status: 500 });
    await send(server, alice, conversationId, 'never arrives');
    await settled(server);
    expect(push.requests(bobDevice.id)).toBe(4);
    expect(await server.store.pushRecords().getSubscription(bobDevice.json.endpoint)).toMatchObject({ userId: bob.id, failures: 1 });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/fetchwork_web_push_total\{outcome="gave_up"\} [1-9]/);
  });

  it('reading the conversation clears its notifications on the other devices, once', async () => {
    const { alice, bob, conversationId, bobDevice } = await pair();
    await send(server, alice, conversationId, 'read me');
    await settled(server);
    const read = await api(server, 'POST', `/api/messages/conversations/${encodeURIComponent(conversationId)}/read`, bob.token);
    expect(read.status).toBe(200);
    await settled(server);
    expect(push.for(bobDevice.id).map((p) => p.payload)).toEqual([
      expect.objectContaining({ kind: 'message' }),
      { kind: 'clear', conversationId },
    ]);
    // Nothing was notified since: reading again (another message read elsewhere) sends no clear.
    const muted = await conversation(server, alice, bob, 'aaaaaaaaaaaaaaaaaaaaaaa2');
    await settings(bob, { mute: { conversationId: muted, muted: true } });
    await send(server, alice, muted, 'quiet');
    await api(server, 'POST', `/api/messages/conversations/${encodeURIComponent(muted)}/read`, bob.token);
    await settled(server);
    expect(push.for(bobDevice.id)).toHaveLength(2);
  });
});
