import type { ConversationDoc, MessageDoc } from '@fetchwork/shared-schema';
import { describe, expect, it } from 'vitest';
import { checkRun, countFindings, type ServerState } from '../lib/checks';
import type { DeviceDump, DeviceRecord } from '../lib/types';

/** The end-of-run checks, on planted violations: each one is caught and counted where it belongs. */

const A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbb';
const CONV = `c.${A}.${B}`;
const T = '2026-01-01T00:00:00.000Z';

function message(id: string, seq: number, content: string, extra: Partial<MessageDoc> = {}): MessageDoc {
  return {
    id,
    conversation: CONV,
    sender: A,
    recipient: B,
    content,
    messageType: 'text',
    attachments: [],
    isRead: true,
    readAt: T,
    isEdited: false,
    editedAt: null,
    isDeleted: false,
    deletedAt: null,
    deliveredAt: T,
    createdAt: T,
    updatedAt: T,
    seq,
    sentAt: T,
    ...extra,
  };
}

function world() {
  const m1 = message('m1', 1, 'a#0');
  const m2 = message('m2', 2, 'a#1');
  const conv: ConversationDoc = {
    id: CONV,
    participants: [A, B],
    job: null,
    lastMessage: 'm2',
    lastActivity: T,
    isActive: true,
    unreadCount: { [A]: 0, [B]: 0 },
    participantNames: {},
    createdAt: T,
    updatedAt: T,
    seq: 3,
  };
  const feed = {
    messages: [
      { docId: 'm1', seq: 1 },
      { docId: 'm2', seq: 2 },
    ],
    conversations: [{ docId: CONV, seq: 3 }],
  };
  const server: ServerState = {
    head: 3,
    messages: [m1, m2],
    conversations: [conv],
    feeds: new Map([
      [A, feed],
      [B, feed],
    ]),
  };
  const record = (label: string, userId: string, sent: DeviceRecord['sent'] = []): DeviceRecord => ({
    label,
    userId,
    sent,
    edits: {},
    deletes: [],
    reads: [],
    reloads: 0,
    actions: 0,
    errors: [],
  });
  const device = (label: string, userId: string, sent: DeviceRecord['sent'] = []): DeviceDump => ({
    label,
    userId,
    messages: [{ ...m1 }, { ...m2 }],
    conversations: [{ ...conv }],
    checkpoints: { messages: 2, conversations: 3 },
    failures: [],
    pending: [],
    record: record(label, userId, sent),
  });
  const sent = [
    { id: 'm1', content: 'a#0', conversation: CONV },
    { id: 'm2', content: 'a#1', conversation: CONV },
  ];
  const dumps = [device('a.d0', A, sent), device('b.d0', B)];
  return { server, dumps, m1, m2 };
}

describe('checkRun', () => {
  it('passes a run in which everything converged', () => {
    const { server, dumps } = world();
    expect(countFindings(checkRun(server, dumps))).toEqual({ lost: 0, duplicated: 0, diverged: 0, checkpoint: 0, unsettled: 0 });
  });

  it('a sent message missing on the server is lost', () => {
    const { server, dumps } = world();
    dumps[0]!.record.sent.push({ id: 'm3', content: 'a#2', conversation: CONV });
    const f = checkRun(server, dumps);
    expect(f.lostOnServer).toHaveLength(1);
    expect(countFindings(f).lost).toBe(1);
  });

  it('a device of a participant without a message lost it', () => {
    const { server, dumps } = world();
    dumps[1]!.messages.pop();
    dumps[1]!.checkpoints.messages = 1;
    expect(checkRun(server, dumps).lostOnDevice).toHaveLength(1);
  });

  it('a second server copy of a send is duplicated', () => {
    const { server, dumps, m1 } = world();
    server.messages.push({ ...m1, id: 'm1-again', seq: 4 });
    expect(countFindings(checkRun(server, dumps)).duplicated).toBe(1);
  });

  it('a replica that differs from the server in any field diverged', () => {
    const { server, dumps } = world();
    dumps[1]!.messages[0] = { ...dumps[1]!.messages[0]!, readAt: '2026-01-01T00:00:01.000Z' };
    expect(checkRun(server, dumps).diverged).toHaveLength(1);
  });

  it('a checkpoint past a document the replica holds in an older state is a checkpoint violation', () => {
    const { server, dumps } = world();
    dumps[1]!.messages[1] = { ...dumps[1]!.messages[1]!, seq: 0, sentAt: null };
    const f = checkRun(server, dumps);
    expect(f.checkpoint.length).toBeGreaterThanOrEqual(1);
    expect(f.diverged).toHaveLength(1);
  });

  it('a read that did not reach the server is a lost receipt', () => {
    const { server, dumps } = world();
    server.messages[0] = { ...server.messages[0]!, isRead: false, readAt: null };
    for (const d of dumps) d.messages[0] = { ...server.messages[0] };
    server.conversations[0]!.unreadCount[B] = 1;
    for (const d of dumps) d.conversations[0] = { ...server.conversations[0]! };
    dumps[1]!.record.reads.push('m1');
    expect(checkRun(server, dumps).lostReceipts).toHaveLength(1);
  });

  it('an edit that is not the final content is lost; an unread count that does not match is caught', () => {
    const { server, dumps } = world();
    dumps[0]!.record.edits.m1 = ['edit a.1'];
    server.conversations[0]!.unreadCount[B] = 5;
    for (const d of dumps) d.conversations[0] = { ...server.conversations[0]! };
    const f = checkRun(server, dumps);
    expect(f.lostEdits).toHaveLength(1);
    expect(f.derived).toHaveLength(1);
  });

  it('writes still pending or refused at the end are unsettled', () => {
    const { server, dumps } = world();
    dumps[0]!.pending.push('messages:m2');
    dumps[0]!.failures.push({ docId: 'm2', code: 'FORBIDDEN', message: 'no' });
    expect(countFindings(checkRun(server, dumps)).unsettled).toBe(2);
  });
});
