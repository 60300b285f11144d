import {
  type ConversationDoc,
  conversationConflictHandler,
  conversationRxSchema,
  type MessageDoc,
  messageConflictHandler,
  messageRxSchema,
} from '@fetchwork/shared-schema';
import type { MigrationStrategies, RxCollection, RxCollectionCreator, RxDatabase } from 'rxdb';
import { type OutboxDoc, outboxRxSchema } from './outbox-schema';

export type MessageCollection = RxCollection<MessageDoc>;
export type ConversationCollection = RxCollection<ConversationDoc>;
export type OutboxCollection = RxCollection<OutboxDoc>;

export interface InboxCollections {
  messages: MessageCollection;
  conversations: ConversationCollection;
  outbox: OutboxCollection;
}

export type InboxDatabase = RxDatabase<InboxCollections>;

/**
 * One entry per schema version above 0, keyed by the version it produces. An installed PWA
 * migrates its replica on the next start; a strategy must keep every document whose `seq` is 0
 * (written here, never accepted by the server), or unsent messages would be lost. Returning
 * null from a strategy deletes the document, so never do that for those.
 */
export const messageMigrations: MigrationStrategies = {};
export const conversationMigrations: MigrationStrategies = {};
export const outboxMigrations: MigrationStrategies = {};

export const collectionCreators = {
  messages: {
    schema: messageRxSchema,
    migrationStrategies: messageMigrations,
    conflictHandler: messageConflictHandler,
  },
  conversations: {
    schema: conversationRxSchema,
    migrationStrategies: conversationMigrations,
    conflictHandler: conversationConflictHandler,
  },
  outbox: {
    schema: outboxRxSchema,
    migrationStrategies: outboxMigrations,
  },
} satisfies Record<keyof InboxCollections, RxCollectionCreator>;
