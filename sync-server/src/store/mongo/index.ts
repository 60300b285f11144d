export { backfillLegacyDocuments } from './backfill';
export { createMongoStore, MongoStoreConfigError, type MongoStoreOptions, prepareDatabase } from './connect';
export { MongoStore } from './mongo-store';
