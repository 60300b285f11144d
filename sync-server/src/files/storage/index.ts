import { createDiskStorage, type DiskStorageOptions } from './disk-storage';
import type { FileStorage } from './port';
import { createS3Storage, type S3StorageOptions } from './s3-storage';

export { createDiskStorage, type DiskStorageOptions } from './disk-storage';
export { FileNotFoundError, type FileStorage } from './port';
export { createS3Storage, type S3StorageOptions } from './s3-storage';

export type FileStorageConfig = ({ kind: 'disk' } & DiskStorageOptions) | ({ kind: 's3' } & S3StorageOptions);

/** S3 when the configuration names a bucket (kind 's3'), the local disk otherwise. */
export function createFileStorage(config: FileStorageConfig): FileStorage {
  if (config.kind === 's3') {
    if (!config.bucket) throw new Error('S3 file storage needs a bucket');
    const { kind: _kind, ...options } = config;
    return createS3Storage(options);
  }
  const { kind: _kind, ...options } = config;
  return createDiskStorage(options);
}
