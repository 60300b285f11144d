import type { RxJsonSchema } from 'rxdb';

/**
 * The replica's RxDB schemas as released (installed PWAs hold replicas made with these). Frozen on
 * purpose, not imported: replica-migration.test.ts opens a replica made with them in the current
 * app, so every schema change is tested as the upgrade an installed app will go through, and a
 * change that forgets to bump its version fails there. Update this snapshot only when a release
 * ships a new schema version (and keep the migration test passing from the previous one).
 */
export const RELEASED_SCHEMAS: Record<'messages' | 'conversations' | 'outbox', RxJsonSchema<any>> = {
  messages: {
    title: 'messages',
    version: 0,
    primaryKey: 'id',
    type: 'object',
    properties: {
      id: {
        type: 'string',
        maxLength: 200,
      },
      conversation: {
        type: 'string',
        maxLength: 200,
      },
      sender: {
        type: 'string',
        maxLength: 64,
      },
      recipient: {
        type: 'string',
        maxLength: 64,
      },
      content: {
        type: 'string',
        maxLength: 2000,
      },
      messageType: {
        type: 'string',
        enum: ['text', 'file', 'system'],
        maxLength: 10,
      },
      attachments: {
        type: 'array',
        maxItems: 10,
        items: {
          type: 'object',
          properties: {
            filename: {
              type: 'string',
              maxLength: 255,
            },
            url: {
              type: 'string',
              maxLength: 2048,
            },
            size: {
              type: 'number',
              minimum: 0,
            },
            mimeType: {
              type: 'string',
              maxLength: 255,
            },
          },
          required: ['filename', 'url', 'size', 'mimeType'],
          additionalProperties: false,
        },
      },
      isRead: {
        type: 'boolean',
      },
      readAt: {
        type: ['string', 'null'],
        maxLength: 40,
      },
      isEdited: {
        type: 'boolean',
      },
      editedAt: {
        type: ['string', 'null'],
        maxLength: 40,
      },
      isDeleted: {
        type: 'boolean',
      },
      deletedAt: {
        type: ['string', 'null'],
        maxLength: 40,
      },
      deliveredAt: {
        type: ['string', 'null'],
        maxLength: 40,
      },
      createdAt: {
        type: 'string',
        format: 'date-time',
        maxLength: 40,
      },
      updatedAt: {
        type: 'string',
        format: 'date-time',
        maxLength: 40,
      },
      seq: {
        type: 'number',
        minimum: 0,
        maximum: 9007199254740991,
        multipleOf: 1,
      },
      sentAt: {
        type: ['string', 'null'],
        maxLength: 40,
      },
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
  },
  conversations: {
    title: 'conversations',
    version: 0,
    primaryKey: 'id',
    type: 'object',
    properties: {
      id: {
        type: 'string',
        maxLength: 200,
      },
      participants: {
        type: 'array',
        items: {
          type: 'string',
          maxLength: 64,
        },
        minItems: 2,
        maxItems: 2,
      },
      job: {
        type: ['string', 'null'],
        maxLength: 64,
      },
      lastMessage: {
        type: ['string', 'null'],
        maxLength: 200,
      },
      lastActivity: {
        type: 'string',
        format: 'date-time',
        maxLength: 40,
      },
      isActive: {
        type: 'boolean',
      },
      unreadCount: {
        type: 'object',
        additionalProperties: {
          type: 'number',
          minimum: 0,
        },
      },
      participantNames: {
        type: 'object',
        additionalProperties: {
          type: 'string',
          maxLength: 100,
        },
      },
      createdAt: {
        type: 'string',
        format: 'date-time',
        maxLength: 40,
      },
      updatedAt: {
        type: 'string',
        format: 'date-time',
        maxLength: 40,
      },
      seq: {
        type: 'number',
        minimum: 0,
        maximum: 9007199254740991,
        multipleOf: 1,
      },
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
  },
  outbox: {
    title: 'outbox',
    version: 0,
    primaryKey: 'id',
    type: 'object',
    properties: {
      id: {
        type: 'string',
        maxLength: 220,
      },
      target: {
        type: 'string',
        enum: ['messages', 'conversations'],
        maxLength: 20,
      },
      docId: {
        type: 'string',
        maxLength: 200,
      },
      state: {
        type: 'string',
        enum: ['pending', 'failed'],
        maxLength: 10,
      },
      code: {
        type: ['string', 'null'],
        maxLength: 64,
      },
      message: {
        type: ['string', 'null'],
        maxLength: 1000,
      },
      at: {
        type: 'string',
        maxLength: 40,
      },
    },
    required: ['id', 'target', 'docId', 'state', 'code', 'message', 'at'],
    indexes: ['state'],
    additionalProperties: false,
  },
};
