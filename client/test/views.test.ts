import { type ConversationDoc, type MessageDoc, newMessageDoc } from '@fetchwork/shared-schema';
import { describe, expect, test } from 'vitest';
import { compareConversations, conversationSortTime, messageStatus, toConversationView } from '../src/inbox/views';

const base: MessageDoc = newMessageDoc({
  id: 'm',
  conversation: 'c.a.b',
  sender: 'a',
  recipient: 'b',
  content: 'x',
  at: '2025-01-01T10:00:00.000Z',
});

const conv: ConversationDoc = {
  id: 'c.a.b',
  participants: ['a', 'b'],
  job: null,
  lastMessage: null,
  lastActivity: '2025-01-01T09:00:00.000Z',
  isActive: true,
  unreadCount: {},
  participantNames: { b: 'Bob' },
  createdAt: '2025-01-01T08:00:00.000Z',
  updatedAt: '2025-01-01T09:00:00.000Z',
  seq: 5,
};

describe('messageStatus', () => {
  test('pending → sent → delivered → read, failed over all', () => {
    expect(messageStatus(base, null)).toBe('pending');
    const sent = { ...base, seq: 3, sentAt: '2025-01-01T10:00:01.000Z' };
    expect(messageStatus(sent, null)).toBe('sent');
    const delivered = { ...sent, deliveredAt: '2025-01-01T10:00:02.000Z' };
    expect(messageStatus(delivered, null)).toBe('delivered');
    expect(messageStatus({ ...delivered, isRead: true, readAt: delivered.deliveredAt }, null)).toBe('read');
    expect(messageStatus(base, { code: 'FORBIDDEN', message: 'no' })).toBe('failed');
  });
});

describe('conversation order', () => {
  test('server time once known; a newer unsent message lifts the conversation', () => {
    expect(conversationSortTime(conv, null)).toBe(conv.lastActivity);
    expect(conversationSortTime({ ...conv, seq: 0 }, null)).toBe(conv.createdAt);
    expect(conversationSortTime(conv, base)).toBe(base.createdAt);
  });

  test('newest first, ties by id; names from the conversation, else the fallback', () => {
    const a = toConversationView(conv, 'a', 0, null, () => '?');
    const b = toConversationView(
      { ...conv, id: 'c.a.c', participants: ['a', 'c'], lastActivity: '2025-01-02T00:00:00.000Z' },
      'a',
      2,
      null,
      () => '?',
    );
    expect([a, b].sort(compareConversations).map((v) => v.id)).toEqual(['c.a.c', 'c.a.b']);
    expect(a.otherUserName).toBe('Bob');
    expect(b.otherUserName).toBe('?');
    expect(b.unread).toBe(2);
  });
});
