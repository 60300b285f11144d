import { messageRxSchema } from '@fetchwork/shared-schema';
import { getRxReplicationMetaInstanceSchema, type RxStorage, type RxStorageInstance } from 'rxdb';

/** The schema RxDB gives a replication's meta instance for the messages collection. */
export const metaSchema = getRxReplicationMetaInstanceSchema(messageRxSchema as any, false);

/** A meta instance as RxDB's replication opens one, in `databaseName`. */
export const openMetaInstance = (storage: RxStorage<any, any>, databaseName: string): Promise<RxStorageInstance<any, any, any>> =>
  storage.createStorageInstance({
    databaseName,
    collectionName: 'rx-replication-meta-test',
    databaseInstanceToken: 'test',
    multiInstance: false,
    options: {},
    schema: metaSchema,
    devMode: false,
  });

/** `base`, with `patch` applied to each meta instance it creates (to record or change what reaches storage). */
export function patchMetaInstances(
  base: RxStorage<any, any>,
  patch: (instance: RxStorageInstance<any, any, any>) => void,
): RxStorage<any, any> {
  return {
    name: base.name,
    rxdbVersion: base.rxdbVersion,
    async createStorageInstance(params) {
      const instance = await base.createStorageInstance(params);
      if (params.schema.title === metaSchema.title) patch(instance);
      return instance;
    },
  };
}

/** A master-state row as RxDB's getMetaWriteRow makes one. */
export const masterState = (docId: string, content: string, rev: string) => ({
  id: `${docId}|0`,
  itemId: docId,
  isCheckpoint: '0',
  docData: { id: docId, content },
  _deleted: false,
  _attachments: {},
  _meta: { lwt: Date.now() },
  _rev: rev,
});
