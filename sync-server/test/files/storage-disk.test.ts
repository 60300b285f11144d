import { pbkdf2, randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Upload } from '@tus/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiskStorage } from '../../src/files/storage/disk-storage';
import { UPLOAD_WRITE_BYTES } from '../../src/files/storage/disk-uploads';
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
  it('creates its directory before it returns and never again behind the caller (a removed one stays removed)', async () => {
    const parent = await mkdtemp(join(root, 'removed-'));
    const directory = join(parent, 'files');
    // tus's FileStore also created it asynchronously (throwing out of band when that failed): with
    // libuv's thread pool busy, as on a loaded machine, that ran only after the removal below.
    const busy = Array.from({ length: 4 }, () => promisify(pbkdf2)('x', 'salt', 100_000, 32, 'sha512'));
    createDiskStorage({ directory, uploadExpiryMs: 0 });
    expect(existsSync(directory)).toBe(true);
    rmSync(parent, { recursive: true, force: true });
    await Promise.all(busy);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(existsSync(directory)).toBe(false);
  });

  it('ping rejects once the directory is gone', async () => {
    const directory = await mkdtemp(join(root, 'gone-'));
    const storage = createDiskStorage({ directory, uploadExpiryMs: 0 });
    await rm(directory, { recursive: true });
    await expect(storage.ping()).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a body cut by an error still has all that arrived written (in pieces), and the upload resumes from there', async () => {
    const directory = await mkdtemp(join(root, 'cut-'));
    const storage = createDiskStorage({ directory, uploadExpiryMs: 0 });
    const bytes = randomBytes(4 * UPLOAD_WRITE_BYTES);
    const arrived = 3 * UPLOAD_WRITE_BYTES + UPLOAD_WRITE_BYTES / 2;
    await storage.uploads.create(new Upload({ id: 'cut', size: bytes.length, offset: 0 }));
    async function* cut() {
      for (let at = 0; at < arrived; at += 64 * 1024) yield bytes.subarray(at, Math.min(at + 64 * 1024, arrived));
      throw new Error('connection reset');
    }
    await expect(storage.uploads.write(Readable.from(cut()), 'cut', 0)).rejects.toBeDefined();
    const offset = (await storage.uploads.getUpload('cut')).offset;
    // Including the half piece still gathering and the pieces queued for the disk when the body failed.
    expect(offset).toBe(arrived);
    expect(await storage.uploads.write(Readable.from([bytes.subarray(offset)]), 'cut', offset)).toBe(bytes.length);
    expect((await storage.readHead('cut', bytes.length)).equals(bytes)).toBe(true);
  });

  it('upload metadata kept in memory agrees with the directory: another storage over it, a declared length, a removal', async () => {
    const directory = await mkdtemp(join(root, 'meta-'));
    const storage = createDiskStorage({ directory, uploadExpiryMs: 0 });
    await storage.uploads.create(new Upload({ id: 'later', offset: 0, metadata: { filename: 'a.pdf' } }));
    await storage.uploads.declareUploadLength('later', 10);
    expect(await storage.uploads.getUpload('later')).toMatchObject({ size: 10, offset: 0, metadata: { filename: 'a.pdf' } });
    // A restarted server reads what the first one wrote.
    const restarted = createDiskStorage({ directory, uploadExpiryMs: 0 });
    expect(await restarted.uploads.getUpload('later')).toMatchObject({ size: 10, offset: 0, metadata: { filename: 'a.pdf' } });
    await storage.delete('later');
    await expect(storage.uploads.getUpload('later')).rejects.toMatchObject({ status_code: 404 });
    await expect(stat(join(directory, 'later.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
