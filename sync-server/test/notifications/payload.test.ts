import { newMessageDoc, notificationPushPayloadSchema } from '@fetchwork/shared-schema';
import { describe, expect, it } from 'vitest';
import { messagePayload, previewOf, topicFor } from '../../src/notifications/payload';

const A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbb';
const message = (content: string, attachments: { filename: string }[] = []) =>
  newMessageDoc({
    id: '0190f1f0-0000-7000-8000-000000000001',
    conversation: `c.${A}.${B}`,
    sender: A,
    recipient: B,
    content,
    messageType: attachments.length > 0 ? 'file' : 'text',
    attachments: attachments.map((a) => ({ ...a, url: 'https://x.test/f', size: 1, mimeType: 'application/pdf' })),
    at: '2030-01-01T00:00:00.000Z',
  });

describe('notification payloads', () => {
  it('previews the text (at most 120 UTF-16 units, never half an emoji) or, for files without a caption, the file', () => {
    expect(previewOf(message('  hi  '))).toBe('hi');
    expect(previewOf(message(`${'a'.repeat(119)}😀 tail`))).toBe('a'.repeat(119));
    expect(previewOf(message('', [{ filename: 'brief.pdf' }]))).toBe('📎 brief.pdf');
    expect(previewOf(message('', [{ filename: 'a.png' }, { filename: 'b.png' }]))).toBe('📎 a.png (+1)');
    expect(previewOf(message('see attached', [{ filename: 'a.png' }]))).toBe('see attached');
  });

  it('names the sender from the conversation, else the token, else "Someone"; private previews carry no text', () => {
    const m = message('hello');
    const conv = { participantNames: { [A]: 'Alice' }, unreadCount: { [B]: 3 } } as any;
    expect(messagePayload(m, conv, 'full', 'Token Name')).toMatchObject({ senderName: 'Alice', preview: 'hello', unread: 3 });
    expect(messagePayload(m, null, 'private', 'Token Name')).toMatchObject({ senderName: 'Token Name', preview: null, unread: 1 });
    const anonymous = messagePayload(m, null, 'full', null);
    expect(anonymous.kind === 'message' && anonymous.senderName).toBe('Someone');
    expect(notificationPushPayloadSchema.safeParse(anonymous).success).toBe(true);
  });

  it('topics are web-push-valid, stable per conversation, different across conversations and secrets', () => {
    const t = topicFor('c.x.y', 'secret');
    expect(t).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(topicFor('c.x.y', 'secret')).toBe(t);
    expect(topicFor('c.x.z', 'secret')).not.toBe(t);
    expect(topicFor('c.x.y', 'other')).not.toBe(t);
  });
});
