import type { RxJsonSchema } from 'rxdb';
import type { ConversationDoc, MessageDoc } from './documents';
import { LIMITS } from './protocol';

const isoDate = { type: 'string', format: 'date-time', maxLength: 40 } as const;
const nullableIsoDate = { type: ['string', 'null'], maxLength: 40 } as const;
const userId = { type: 'string', maxLength: LIMITS.idMaxLength } as const;
const seq = { type: 'number', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, multipleOf: 1 } as const;

/**
 * RxDB rules found on this machine: the primary key needs maxLength; Dexie cannot index optional
 * fields; indexed numbers need multipleOf/minimum/maximum. Indexed fields are therefore required.
 */
export const messageRxSchema: RxJsonSchema<MessageDoc> = {
  title: 'messages',
  version: 0,
  primaryKey: 'id',
  type: 'object',
  properties: {
    id: { type: 'string', maxLength: LIMITS.docIdMaxLength },
    conversation: { type: 'string', maxLength: LIMITS.docIdMaxLength },
    sender: userId,
    recipient: userId,
    content: { type: 'string', maxLength: LIMITS.contentMaxLength },
    messageType: { type: 'string', enum: ['text', 'file', 'system'], maxLength: 10 },
    attachments: {
      type: 'array',
      maxItems: LIMITS.attachmentsMax,
      items: {
        type: 'object',
        properties: {
          filename: { type: 'string', maxLength: LIMITS.filenameMaxLength },
          url: { type: 'string', maxLength: LIMITS.attachmentUrlMaxLength },
          size: { type: 'number', minimum: 0 },
          mimeType: { type: 'string', maxLength: LIMITS.mimeTypeMaxLength },
        },
        required: ['filename', 'url', 'size', 'mimeType'],
        additionalProperties: false,
      },
    },
    isRead: { type: 'boolean' },
    readAt: nullableIsoDate,
    isEdited: { type: 'boolean' },
    editedAt: nullableIsoDate,
    isDeleted: { type: 'boolean' },
    deletedAt: nullableIsoDate,
    deliveredAt: nullableIsoDate,
    createdAt: isoDate,
    updatedAt: isoDate,
    seq,
    sentAt: nullableIsoDate,
  },
  required: [
    'id',
    'conversation',
    'sender',
    'recipient',
    'content',
    'messageType',
    'attachments',
    'isRead',
    'readAt',
    'isEdited',
    'editedAt',
    'isDeleted',
    'deletedAt',
    'deliveredAt',
    'createdAt',
    'updatedAt',
    'seq',
    'sentAt',
  ],
  indexes: [['conversation', 'createdAt'], 'createdAt', ['recipient', 'isRead']],
  additionalProperties: false,
};

export const conversationRxSchema: RxJsonSchema<ConversationDoc> = {
  title: 'conversations',
  version: 0,
  primaryKey: 'id',
  type: 'object',
  properties: {
    id: { type: 'string', maxLength: LIMITS.docIdMaxLength },
    participants: { type: 'array', items: userId, minItems: 2, maxItems: LIMITS.participantsMax },
    job: { type: ['string', 'null'], maxLength: LIMITS.idMaxLength },
    lastMessage: { type: ['string', 'null'], maxLength: LIMITS.docIdMaxLength },
    lastActivity: isoDate,
    isActive: { type: 'boolean' },
    unreadCount: { type: 'object', additionalProperties: { type: 'number', minimum: 0 } },
    participantNames: { type: 'object', additionalProperties: { type: 'string', maxLength: LIMITS.nameMaxLength } },
    createdAt: isoDate,
    updatedAt: isoDate,
    seq,
  },
  required: [
    'id',
    'participants',
    'job',
    'lastMessage',
    'lastActivity',
    'isActive',
    'unreadCount',
    'participantNames',
    'createdAt',
    'updatedAt',
    'seq',
  ],
  indexes: ['lastActivity'],
  additionalProperties: false,
};
