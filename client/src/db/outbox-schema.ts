import type { CollectionName } from '@fetchwork/shared-schema';
import { LIMITS } from '@fetchwork/shared-schema';
import type { RxJsonSchema } from 'rxdb';

/**
 * Local-only bookkeeping of writes the server has not confirmed yet (`pending`) or has refused
 * for good (`failed`, with the server's reason). It is a collection, not memory, so the count
 * of unsent writes and every failure survive a reload and are visible to every tab.
 * It is never replicated.
 */
export type OutboxState = 'pending' | 'failed';

export interface OutboxDoc {
  /** `${collection}:${docId}` */
  id: string;
  /** The collection of the document. */
  target: CollectionName;
  docId: string;
  state: OutboxState;
  code: string | null;
  message: string | null;
  /** When the entry was (re)queued or failed, local clock. */
  at: string;
}

export const outboxRxSchema: RxJsonSchema<OutboxDoc> = {
  title: 'outbox',
  version: 0,
  primaryKey: 'id',
  type: 'object',
  properties: {
    id: { type: 'string', maxLength: LIMITS.docIdMaxLength + 20 },
    target: { type: 'string', enum: ['messages', 'conversations'], maxLength: 20 },
    docId: { type: 'string', maxLength: LIMITS.docIdMaxLength },
    state: { type: 'string', enum: ['pending', 'failed'], maxLength: 10 },
    code: { type: ['string', 'null'], maxLength: 64 },
    message: { type: ['string', 'null'], maxLength: 1000 },
    at: { type: 'string', maxLength: 40 },
  },
  required: ['id', 'target', 'docId', 'state', 'code', 'message', 'at'],
  indexes: ['state'],
  additionalProperties: false,
};

export const outboxId = (collection: CollectionName, docId: string) => `${collection}:${docId}`;
