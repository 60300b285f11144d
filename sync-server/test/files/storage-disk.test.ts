import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiskStorage } from '../../src/files/storage/disk-storage';
import { registerFileStorageContractTests } from './storage-contract';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fw-files-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

registerFileStorageContractTests('disk', async ({ uploadExpiryMs }) => {
  const directory = await mkdtemp(join(root, 'store-'));
  const storage = createDiskStorage({ directory, uploadExpiryMs });
  return {
    storage,
    leftovers: async () =>
      (await readdir(directory, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name),
    async destroy() {
      await storage.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});

describe('disk storage specifics', () => {
  it('ping rejects once the directory is gone', async () => {
    const directory = await mkdtemp(join(root, 'gone-'));
    const storage = createDiskStorage({ directory, uploadExpiryMs: 0 });
    await rm(directory, { recursive: true });
    await expect(storage.ping()).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
