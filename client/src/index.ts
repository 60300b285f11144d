/**
 * The client data layer: createInbox opens the signed-in user's replica and connects; the
 * hooks read it for the UI. Dev-mode is not exported here on purpose (see db/dev-mode.ts).
 */

export { databaseNameFor } from './db/database';
export * from './hooks';
export { InboxCommandError } from './inbox/commands';
export { type CreateInboxOptions, createInbox, type InboxHandle } from './inbox/create-inbox';
export type { PresenceClient, PresenceFactory } from './inbox/presence';
export type * from './inbox-api';
export type { SyncTuning } from './sync/collection-sync';
