/**
 * Presence needs consent: online/offline, last seen and typing flow only between users who share a
 * conversation in which both have written. Knowing a user id and opening a conversation with them
 * (even writing to them) teaches a stranger nothing about their presence; their reply does.
 */
import { describe, expect, it } from 'vitest';
import { draftMessage } from './support/docs';
import { converse, newUser, presenceFixture, presenceOf, settled, typingEvents } from './support/presence';
import { push, waitFor } from './support/test-server';

const { server, tab } = presenceFixture();

describe('presence needs consent', () => {
  it('a stranger who opened (and wrote in) a conversation learns nothing until the other side replies', async () => {
    const s = await server();
    const [stranger, victim] = [newUser(), newUser()];
    const conv = await converse(s, stranger, victim, { reply: false });
    const victimTab = await tab(s, victim.token);
    const strangerTab = await tab(s, stranger.token);
    await waitFor(() => strangerTab.of('presence:state').length === 1, 'the stranger’s presence state');
    expect(strangerTab.of('presence:state')[0].online).toEqual([]);

    // The stranger writes and types: still no consent.
    const sent = await push(strangerTab.socket, {
      collection: 'messages',
      rows: [{ newDocumentState: draftMessage(conv, stranger.id, victim.id, 'hi') }],
    });
    expect(sent.rejected).toEqual([]);
    expect(await (strangerTab.socket.timeout(5000) as any).emitWithAck('typing:start', { conversationId: conv })).toEqual({ ok: true });
    await (victimTab.socket.timeout(5000) as any).emitWithAck('typing:start', { conversationId: conv });
    // The victim goes offline and comes back: the stranger hears nothing of it.
    victimTab.socket.close();
    await waitFor(async () => (await s.presence.store.onlineAmong([victim.id])).length === 0, 'the victim offline');
    const victimBack = await tab(s, victim.token);
    await waitFor(() => victimBack.of('presence:state').length === 1, 'the victim’s state');
    expect(victimBack.of('presence:state')[0].online).toEqual([]);
    await settled(s, strangerTab, victimBack);
    expect(presenceOf(strangerTab, victim.id)).toEqual([]);
    expect(presenceOf(victimBack, stranger.id)).toEqual([]);
    expect(typingEvents(strangerTab)).toEqual([]);
    expect(typingEvents(victimBack)).toEqual([]);

    // The victim replies: both learn the other is online, and typing flows.
    const reply = await push(victimBack.socket, {
      collection: 'messages',
      rows: [{ newDocumentState: draftMessage(conv, victim.id, stranger.id, 'hello') }],
    });
    expect(reply.rejected).toEqual([]);
    await waitFor(() => presenceOf(strangerTab, victim.id).length === 1, 'the stranger to see the victim online');
    await waitFor(() => presenceOf(victimBack, stranger.id).length === 1, 'the victim to see the stranger online');
    await (strangerTab.socket.timeout(5000) as any).emitWithAck('typing:start', { conversationId: conv });
    await waitFor(() => typingEvents(victimBack).length === 1, 'typing relayed after consent');
    // And a new socket's state names the other now.
    const strangerTab2 = await tab(s, stranger.token);
    await waitFor(() => strangerTab2.of('presence:state').length === 1, 'state');
    expect(strangerTab2.of('presence:state')[0].online).toEqual([victim.id]);
  });
});
