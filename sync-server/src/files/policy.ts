import { DEFAULT_ALLOWED_FILE_TYPES } from '@fetchwork/shared-schema';
import type { FilePolicy } from './file-service';

const MiB = 1024 * 1024;

/** The defaults behind docs/operations.md's FILE_* variables. */
export const DEFAULT_FILE_POLICY: FilePolicy = {
  maxFileBytes: 100 * MiB,
  maxMessageBytes: 250 * MiB,
  quotaBytes: 2048 * MiB,
  allowedTypes: DEFAULT_ALLOWED_FILE_TYPES,
  linkTtlSeconds: 300,
  unattachedTtlMs: 24 * 60 * 60 * 1000,
  externalLinkOrigins: [],
  scanFailure: 'refuse',
};
