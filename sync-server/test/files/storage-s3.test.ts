import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer as collect } from 'node:stream/consumers';
import { S3 } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Storage, type S3StorageOptions } from '../../src/files/storage/s3-storage';
import { registerFileStorageContractTests } from './storage-contract';

/**
 * The contract suite against a real S3 protocol server: s3rver (on disk, in this process). s3rver has no
 * ListParts, AbortMultipartUpload or ListMultipartUploads, and S3Store calls ListParts on every write and
 * status check, so `addMultipartListing` below answers those three from s3rver's own multipart state
 * (its upload folders). Everything else is s3rver's: multipart create/part/complete, PUT, ranged GET,
 * HEAD, DELETE, ListObjectsV2, CreateBucket, HeadBucket. One case is a known s3rver bug (F4b, below).
 */

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const S3Error = require('s3rver/lib/models/error');

const BUCKET = 'fetchwork-test';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

let server: any;
let directory: string;
let endpoint: string;
let admin: S3;
let buckets = 0;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'fw-s3rver-'));
  server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: BUCKET }] });
  addMultipartListing(server);
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
  admin = new S3({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: CREDENTIALS });
});

afterAll(async () => {
  admin?.destroy();
  await server?.close();
  if (directory) await rm(directory, { recursive: true, force: true });
});

function options(bucket: string, uploadExpiryMs: number): S3StorageOptions {
  return { bucket, region: 'us-east-1', endpoint, forcePathStyle: true, ...CREDENTIALS, uploadExpiryMs, partSize: 5 * 1024 * 1024 };
}

registerFileStorageContractTests(
  's3 (s3rver)',
  async ({ uploadExpiryMs }) => {
    // A bucket per storage, so one test's leftovers are not another's expired uploads.
    const bucket = `${BUCKET}-${++buckets}`;
    await admin.createBucket({ Bucket: bucket });
    const storage = createS3Storage(options(bucket, uploadExpiryMs));
    return {
      storage,
      async leftovers() {
        const objects = await admin.listObjectsV2({ Bucket: bucket });
        const pending = await admin.listMultipartUploads({ Bucket: bucket });
        return [...(objects.Contents ?? []).map((o) => o.Key!), ...(pending.Uploads ?? []).map((u) => `multipart upload of ${u.Key}`)];
      },
      destroy: () => storage.close(),
    };
  },
  {
    knownFailures: {
      // s3rver 3.7 FilesystemStore.getObject: `end: Math.min(options.end || Infinity, lastByte)`, so `bytes=0-0`
      // answers the whole object (206, Content-Range bytes 0-<last>); the adapter refuses such an answer.
      F4b: 's3rver reads a Range ending at byte 0 as open-ended',
    },
  },
);

describe('s3 storage specifics', () => {
  it('a range the server did not honour is refused rather than passed on (s3rver answers bytes=0-0 with everything)', async () => {
    const bucket = `${BUCKET}-${++buckets}`;
    await admin.createBucket({ Bucket: bucket });
    const storage = createS3Storage(options(bucket, 0));
    try {
      await admin.putObject({ Bucket: bucket, Key: 'whole', Body: Buffer.alloc(1000, 7) });
      await expect(storage.read('whole', { start: 0, end: 0 })).rejects.toThrow('S3 answered bytes 0-999/1000 for bytes 0-0 of whole');
      expect((await collect(await storage.read('whole', { start: 1, end: 1 }))).length).toBe(1);
    } finally {
      await storage.close();
    }
  });

  it('ping answers for the configured bucket and rejects for a missing one', async () => {
    const present = createS3Storage(options(BUCKET, 0));
    const missing = createS3Storage(options('fetchwork-missing', 0));
    try {
      await expect(present.ping()).resolves.toBeUndefined();
      await expect(missing.ping()).rejects.toMatchObject({ name: 'NotFound' });
    } finally {
      await Promise.all([present.close(), missing.close()]);
    }
  });
});

/**
 * ListParts (GET /bucket/key?uploadId), AbortMultipartUpload (DELETE /bucket/key?uploadId) and
 * ListMultipartUploads (GET /bucket?uploads), answered like S3 does, including 404 NoSuchUpload,
 * from the folder s3rver keeps per pending upload: `key`, then each part as `<n>` beside `<n>.md5`.
 * Inserted just before s3rver's router, after its XML encoder. No pagination: the tests stay far below a page.
 */
function addMultipartListing(app: any): void {
  const uploadsOf = (bucket: string): string => app.store.getResourcePath(bucket, undefined, 'uploads');
  const listing = async (ctx: any, next: () => Promise<void>) => {
    const [, bucket, ...rest] = ctx.path.split('/').map(decodeURIComponent);
    const key = rest.join('/');
    const uploadId: unknown = ctx.query.uploadId;
    if (!key && ctx.method === 'GET' && 'uploads' in ctx.query) {
      const root = uploadsOf(bucket);
      const ids = await readdir(root).catch(() => [] as string[]);
      const uploads = await Promise.all(
        ids.map(async (id) => {
          const keyFile = join(root, id, 'key');
          return { Key: await readFile(keyFile, 'utf8'), UploadId: id, Initiated: (await stat(keyFile)).mtime.toISOString() };
        }),
      );
      ctx.body = { ListMultipartUploadsResult: { Bucket: bucket, KeyMarker: '', UploadIdMarker: '', IsTruncated: false, Upload: uploads } };
      return;
    }
    if (!key || typeof uploadId !== 'string' || !['GET', 'DELETE'].includes(ctx.method) || 'partNumber' in ctx.query) return next();
    const folder = join(uploadsOf(bucket), uploadId);
    const storedKey = await readFile(join(folder, 'key'), 'utf8').catch(() => undefined);
    if (storedKey !== key) {
      throw new S3Error(
        'NoSuchUpload',
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        {
          UploadId: uploadId,
        },
      );
    }
    if (ctx.method === 'DELETE') {
      await rm(folder, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    const numbers = (await readdir(folder)).filter((name) => /^\d+$/.test(name)).map(Number);
    const parts = await Promise.all(
      numbers
        .sort((a, b) => a - b)
        .map(async (n) => {
          const file = join(folder, String(n));
          const { size, mtime } = await stat(file);
          return {
            PartNumber: n,
            LastModified: mtime.toISOString(),
            ETag: JSON.stringify(await readFile(`${file}.md5`, 'utf8')),
            Size: size,
          };
        }),
    );
    ctx.body = { ListPartsResult: { Bucket: bucket, Key: key, UploadId: uploadId, IsTruncated: false, Part: parts } };
  };
  app.middleware.splice(app.middleware.length - 1, 0, listing);
}
