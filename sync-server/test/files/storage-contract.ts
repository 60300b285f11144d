import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer as collect } from 'node:stream/consumers';
import { Upload } from '@tus/utils';
import { afterEach, describe, expect, it } from 'vitest';
import { FileNotFoundError, type FileStorage } from '../../src/files/storage/port';

export interface FileStorageHarness {
  storage: FileStorage;
  /** Every raw file or object the adapter holds, pending multipart uploads included: what "nothing left behind" is checked against. */
  leftovers(): Promise<string[]>;
  /** Closes the storage and removes its data. */
  destroy(): Promise<void>;
}

export interface ContractOptions {
  /** Case id (e.g. 'F4b') → why the backend under test fails it. Never for the adapter's own faults. */
  knownFailures?: Record<string, string>;
}

/** Each call gets storage of its own (own directory or bucket), so counts like deleteExpired's are exact. */
export type FileStorageFactory = (options: { uploadExpiryMs: number }) => Promise<FileStorageHarness>;

const MiB = 1024 * 1024;
/** S3 refuses multipart parts under 5 MiB except the last; the S3 adapter runs with 5 MiB parts. */
const PART = 5 * MiB;
/** Long enough that nothing expires during a test. */
const NO_EXPIRY_SOON = 60_000;
const SHORT_EXPIRY = 50;

const newId = () => randomBytes(12).toString('hex');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A request body as @tus/server hands it to the store: a stream arriving in network-sized chunks. */
function body(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 64 * 1024) chunks.push(bytes.subarray(at, at + 64 * 1024));
  return Readable.from(chunks);
}

/** POST then PATCHes, the way @tus/server drives a DataStore: create with offset 0, then write each piece at the current offset. */
async function upload(storage: FileStorage, bytes: Buffer, pieces: number[] = [bytes.length]): Promise<string> {
  const id = newId();
  await storage.uploads.create(new Upload({ id, size: bytes.length, offset: 0 }));
  let offset = 0;
  for (const length of pieces) {
    offset = await storage.uploads.write(body(bytes.subarray(offset, offset + length)), id, offset);
  }
  return id;
}

/** What @tus/server's HEAD and PATCH handlers see; they answer 404 when it throws tus's FILE_NOT_FOUND. */
async function tusStatus(storage: FileStorage, id: string): Promise<number | { offset: number; size: number | undefined }> {
  try {
    const found = await storage.uploads.getUpload(id);
    return { offset: found.offset, size: found.size };
  } catch (error) {
    const status = (error as { status_code?: number }).status_code;
    if (status === undefined) throw error;
    return status;
  }
}

/**
 * One suite for every adapter of the FileStorage port (in the style of tldraw's storage contract suite and
 * automerge-repo's storage-adapter-tests): uploads go through `storage.uploads` exactly as @tus/server drives it.
 */
export function registerFileStorageContractTests(name: string, factory: FileStorageFactory, options: ContractOptions = {}): void {
  /** A case the backend under test is known to get wrong runs as `it.fails`, so it shows, and a fix is noticed. */
  const test = (title: string, body: () => Promise<void>) => {
    const reason = options.knownFailures?.[title.split(' ')[0]!];
    if (reason) it.fails(`${title} [known to fail here: ${reason}]`, body);
    else it(title, body);
  };

  describe(`file storage contract: ${name}`, () => {
    const opened: FileStorageHarness[] = [];
    async function open(uploadExpiryMs = NO_EXPIRY_SOON): Promise<FileStorageHarness> {
      const harness = await factory({ uploadExpiryMs });
      opened.push(harness);
      return harness;
    }
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((h) => h.destroy()));
    });

    test('F1 ping resolves on working storage', async () => {
      const { storage } = await open();
      await expect(storage.ping()).resolves.toBeUndefined();
      expect(['disk', 's3']).toContain(storage.kind);
    });

    test('F2 an upload written in two PATCHes resumes at the stored offset and reads back byte for byte', async () => {
      const { storage } = await open();
      // Over one part, so the multipart upload has a full part and a last one; the first PATCH ends mid-part.
      const bytes = randomBytes(6 * MiB + 1234);
      const first = PART + 512 * 1024;
      const id = newId();
      await storage.uploads.create(new Upload({ id, size: bytes.length, offset: 0 }));
      expect(await tusStatus(storage, id)).toEqual({ offset: 0, size: bytes.length });

      expect(await storage.uploads.write(body(bytes.subarray(0, first)), id, 0)).toBe(first);
      // What a client's HEAD would learn before resuming.
      expect(await tusStatus(storage, id)).toEqual({ offset: first, size: bytes.length });
      await expect(storage.read(id)).rejects.toBeInstanceOf(FileNotFoundError);

      const resumeAt = (await storage.uploads.getUpload(id)).offset;
      expect(await storage.uploads.write(body(bytes.subarray(resumeAt)), id, resumeAt)).toBe(bytes.length);
      expect(await tusStatus(storage, id)).toEqual({ offset: bytes.length, size: bytes.length });

      expect(sha256(await collect(await storage.read(id)))).toBe(sha256(bytes));
      expect((await storage.readHead(id, 4100)).equals(bytes.subarray(0, 4100))).toBe(true);
      // A range across the boundary between the two parts.
      const range = { start: PART - 10, end: PART + 9 };
      expect((await collect(await storage.read(id, range))).equals(bytes.subarray(range.start, range.end + 1))).toBe(true);
    });

    test('F3 readHead of an upload shorter than the length gives all of it', async () => {
      const { storage } = await open();
      const bytes = randomBytes(100);
      const id = await upload(storage, bytes);
      expect((await storage.readHead(id, 4100)).equals(bytes)).toBe(true);
      expect((await storage.readHead(id, 10)).equals(bytes.subarray(0, 10))).toBe(true);
    });

    test('F4 a range is inclusive at both ends, stops at the end of the upload, and an inverted one is refused', async () => {
      const { storage } = await open();
      const bytes = randomBytes(1000);
      const id = await upload(storage, bytes, [400, 600]);
      expect((await collect(await storage.read(id, { start: 10, end: 19 }))).equals(bytes.subarray(10, 20))).toBe(true);
      expect((await collect(await storage.read(id, { start: 999, end: 999 }))).equals(bytes.subarray(999))).toBe(true);
      expect((await collect(await storage.read(id, { start: 990, end: 5000 }))).equals(bytes.subarray(990))).toBe(true);
      await expect(storage.read(id, { start: 20, end: 10 })).rejects.toBeInstanceOf(RangeError);
    });

    test('F4b the first byte alone, as read(0-0) and readHead(1)', async () => {
      const { storage } = await open();
      const bytes = randomBytes(1000);
      const id = await upload(storage, bytes);
      expect((await collect(await storage.read(id, { start: 0, end: 0 }))).equals(bytes.subarray(0, 1))).toBe(true);
      expect((await storage.readHead(id, 1)).equals(bytes.subarray(0, 1))).toBe(true);
    });

    test('F5 a derived object is stored whole, replaced by the next put, and apart from the upload of the same key', async () => {
      const { storage } = await open();
      const bytes = randomBytes(300);
      const id = await upload(storage, bytes);
      const thumb = randomBytes(2000);
      await storage.put(id, thumb, 'image/webp');
      expect((await storage.get(id)).equals(thumb)).toBe(true);
      const smaller = randomBytes(50);
      await storage.put(id, smaller, 'image/webp');
      expect((await storage.get(id)).equals(smaller)).toBe(true);
      expect((await collect(await storage.read(id))).equals(bytes)).toBe(true);

      const nested = `thumbs/${newId()}.webp`;
      await storage.put(nested, thumb, 'image/webp');
      expect((await storage.get(nested)).equals(thumb)).toBe(true);
    });

    test('F6 unknown keys throw FileNotFoundError from read, readHead and get', async () => {
      const { storage } = await open();
      const id = newId();
      await expect(storage.read(id)).rejects.toBeInstanceOf(FileNotFoundError);
      await expect(storage.read(id, { start: 0, end: 9 })).rejects.toBeInstanceOf(FileNotFoundError);
      await expect(storage.readHead(id, 10)).rejects.toBeInstanceOf(FileNotFoundError);
      await expect(storage.get(id)).rejects.toBeInstanceOf(FileNotFoundError);
      await expect(storage.get(id)).rejects.toMatchObject({ key: id });
    });

    test('F7 delete removes a completed upload, its tus metadata and its derived object, leaves nothing behind, and is idempotent', async () => {
      const { storage, leftovers } = await open();
      const keep = await upload(storage, randomBytes(200));
      const id = await upload(storage, randomBytes(PART + 100), [PART + 100]);
      await storage.put(id, randomBytes(30), 'image/webp');
      expect((await leftovers()).some((name) => name.includes(id))).toBe(true);

      await storage.delete(id);
      await expect(storage.read(id)).rejects.toBeInstanceOf(FileNotFoundError);
      await expect(storage.readHead(id, 10)).rejects.toBeInstanceOf(FileNotFoundError);
      await expect(storage.get(id)).rejects.toBeInstanceOf(FileNotFoundError);
      expect(await tusStatus(storage, id)).toBe(404);
      expect((await leftovers()).filter((name) => name.includes(id))).toEqual([]);

      await expect(storage.delete(id)).resolves.toBeUndefined();
      await expect(storage.delete(newId())).resolves.toBeUndefined();
      expect((await storage.readHead(keep, 10)).length).toBe(10);
    });

    test('F8 delete of an incomplete upload removes what was written so far, pending multipart upload included', async () => {
      const { storage, leftovers } = await open();
      const bytes = randomBytes(6 * MiB);
      const id = newId();
      await storage.uploads.create(new Upload({ id, size: bytes.length, offset: 0 }));
      // One full part and a partial one: on S3 an uploaded part of a pending multipart upload plus a `.part` object.
      await storage.uploads.write(body(bytes.subarray(0, PART + 1000)), id, 0);
      expect(await tusStatus(storage, id)).toEqual({ offset: PART + 1000, size: bytes.length });

      await storage.delete(id);
      expect(await tusStatus(storage, id)).toBe(404);
      await expect(storage.read(id)).rejects.toBeInstanceOf(FileNotFoundError);
      expect((await leftovers()).filter((name) => name.includes(id))).toEqual([]);
      await expect(storage.delete(id)).resolves.toBeUndefined();
    });

    test('F9 deleteExpired removes incomplete uploads older than the expiry and keeps completed ones', async () => {
      const { storage, leftovers } = await open(SHORT_EXPIRY);
      const done = randomBytes(500);
      const completed = await upload(storage, done, [200, 300]);
      const incomplete = newId();
      await storage.uploads.create(new Upload({ id: incomplete, size: 1000, offset: 0 }));
      await storage.uploads.write(body(randomBytes(300)), incomplete, 0);
      await sleep(SHORT_EXPIRY * 3);

      expect(await storage.deleteExpired()).toBe(1);
      expect(await tusStatus(storage, incomplete)).toBe(404);
      expect((await leftovers()).filter((name) => name.includes(incomplete))).toEqual([]);
      expect(await tusStatus(storage, completed)).toEqual({ offset: 500, size: 500 });
      expect((await collect(await storage.read(completed))).equals(done)).toBe(true);
      expect(await storage.deleteExpired()).toBe(0);
    });

    test('F10 deleteExpired keeps incomplete uploads younger than the expiry', async () => {
      const { storage } = await open(NO_EXPIRY_SOON);
      const id = newId();
      await storage.uploads.create(new Upload({ id, size: 1000, offset: 0 }));
      await storage.uploads.write(body(randomBytes(300)), id, 0);
      expect(await storage.deleteExpired()).toBe(0);
      expect(await tusStatus(storage, id)).toEqual({ offset: 300, size: 1000 });
    });
  });
}
