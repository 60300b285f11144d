import { type BulkWriteRow, META_INSTANCE_SCHEMA_TITLE, type RxDocumentData, type RxStorage, type RxStorageInstance } from 'rxdb';

export type Instance = RxStorageInstance<any, any, any>;
export type MetaDoc = RxDocumentData<{ id: string }>;
export type InsertBelow = (instance: Instance, rows: BulkWriteRow<MetaDoc>[], context: string) => Promise<string[]>;

/**
 * A storage whose replication meta instances (RxDB's master states and checkpoints, one per
 * replication start) are wrapped by `wrap`; every other instance is the storage's own.
 */
export function wrapMetaInstances<S extends RxStorage<any, any>>(storage: S, wrap: (instance: Instance) => Instance): S {
  return {
    ...storage,
    name: storage.name,
    rxdbVersion: storage.rxdbVersion,
    async createStorageInstance(params) {
      const instance = await storage.createStorageInstance(params);
      return params.schema.title === META_INSTANCE_SCHEMA_TITLE ? wrap(instance) : instance;
    },
  } as S;
}

/** Passes everything to the wrapped instance; a wrapper overrides what it changes. */
export class MetaInstanceWrapper implements Instance {
  readonly databaseName: string;
  readonly internals: Instance['internals'];
  readonly options: Instance['options'];
  readonly schema: Instance['schema'];
  readonly collectionName: string;

  constructor(protected readonly inner: Instance) {
    this.databaseName = inner.databaseName;
    this.internals = inner.internals;
    this.options = inner.options;
    this.schema = inner.schema;
    this.collectionName = inner.collectionName;
  }

  /** Told of rows that were stored below this wrapper without its `bulkWrite` (insert-absent.ts). */
  storedBelow(_rows: BulkWriteRow<MetaDoc>[]): void {}

  /**
   * Rows new to the replica, stored without reading them first (insert-absent.ts, passed in as
   * `below` so that this module does not import it): into the instance below, then `storedBelow`.
   * Returns the ids that were present, which were not written.
   */
  async insertAbsent(rows: BulkWriteRow<MetaDoc>[], context: string, below: InsertBelow): Promise<string[]> {
    const present = await below(this.inner, rows, context);
    const skip = new Set(present);
    this.storedBelow(rows.filter((r) => !skip.has(r.document.id)));
    return present;
  }

  bulkWrite(rows: BulkWriteRow<MetaDoc>[], context: string) {
    return this.inner.bulkWrite(rows, context);
  }

  findDocumentsById(ids: string[], withDeleted: boolean): Promise<MetaDoc[]> {
    return this.inner.findDocumentsById(ids, withDeleted);
  }

  query(...args: Parameters<Instance['query']>) {
    return this.inner.query(...args);
  }

  count(...args: Parameters<Instance['count']>) {
    return this.inner.count(...args);
  }

  getAttachmentData(documentId: string, attachmentId: string, digest: string): Promise<Blob> {
    return this.inner.getAttachmentData(documentId, attachmentId, digest);
  }

  changeStream() {
    return this.inner.changeStream();
  }

  cleanup(minimumDeletedTime: number): Promise<boolean> {
    return this.inner.cleanup(minimumDeletedTime);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  remove(): Promise<void> {
    return this.inner.remove();
  }
}
