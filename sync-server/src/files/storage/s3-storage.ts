import { Readable } from 'node:stream';
import { type GetObjectCommandOutput, S3, type S3ClientConfig } from '@aws-sdk/client-s3';
import { type MetadataValue, S3Store } from '@tus/s3-store';
import type { KvStore } from '@tus/utils';
import { FileNotFoundError, type FileStorage } from './port';

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** For S3-compatible services (MinIO, R2, a test server); AWS when absent. */
  endpoint?: string;
  /** Both or neither; without them the SDK's default credential chain applies. */
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle?: boolean;
  /** Incomplete uploads older than this are removed by deleteExpired; 0 keeps them forever. */
  uploadExpiryMs: number;
  /** Preferred multipart part size; S3 refuses parts under 5 MiB except the last. S3Store's default is 8 MiB. */
  partSize?: number;
}

/** Thumbnails and other derived objects are kept under this prefix, apart from the tus objects. */
const DERIVED = 'derived/';

export function createS3Storage(options: S3StorageOptions): FileStorage {
  const { bucket, uploadExpiryMs } = options;
  const clientConfig: S3ClientConfig = {
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials:
      options.accessKeyId && options.secretAccessKey
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
        : undefined,
    // The SDK's default (since 2025) streams bodies with trailing CRC checksums, which many S3-compatible
    // servers store verbatim or refuse; S3 itself needs them only where an operation requires a checksum.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  const client = new S3(clientConfig);
  const store = new ClosableS3Store({
    partSize: options.partSize,
    expirationPeriodInMilliseconds: uploadExpiryMs,
    // S3Store caches each upload's `.info` for the life of the process. Another instance may delete or finish the
    // upload meanwhile, and a stale entry makes getUpload call a removed upload complete; an S3 GET per write is cheap.
    cache: new NoCache(),
    s3ClientConfig: { ...clientConfig, bucket },
  });

  async function getUpload(key: string, range?: { start: number; end: number }) {
    // Derived objects share the bucket; their prefix is not an upload key.
    if (key.startsWith(DERIVED)) throw new FileNotFoundError(key);
    return getObject(key, range);
  }

  async function getObject(key: string, range?: { start: number; end: number }) {
    let answer: GetObjectCommandOutput;
    try {
      answer = await client.getObject({ Bucket: bucket, Key: key, Range: range && `bytes=${range.start}-${range.end}` });
    } catch (error) {
      throw isMissing(error) ? new FileNotFoundError(key) : error;
    }
    if (!answer.Body) throw new Error(`S3 returned no body for ${key}`);
    if (range) {
      try {
        checkAnswered(range, answer.ContentRange, key);
      } catch (error) {
        (answer.Body as Readable).destroy();
        throw error;
      }
    }
    return answer.Body;
  }

  /** Aborts the multipart upload, if any, then removes every object an upload or a derived object may have left. */
  async function remove(key: string, uploadId?: string): Promise<void> {
    const id = uploadId ?? (await pendingUploadId(key));
    if (id) {
      await client.abortMultipartUpload({ Bucket: bucket, Key: key, UploadId: id }).catch((error) => {
        // A completed or already aborted upload has no multipart upload left to abort.
        if (!isMissing(error) && errorName(error) !== 'NoSuchUpload') throw error;
      });
    }
    // Single deletes rather than DeleteObjects: that one needs a body checksum, which the SDK now sends as CRC32
    // where some S3-compatible servers still insist on Content-MD5. Deleting a missing key succeeds.
    const keys = [key, `${key}.info`, `${key}.part`, `${DERIVED}${key}`];
    await Promise.all(keys.map((Key) => client.deleteObject({ Bucket: bucket, Key })));
  }

  /** The multipart upload id S3Store recorded in the upload's `.info` object (as x-amz-meta-upload-id). */
  async function pendingUploadId(key: string): Promise<string | undefined> {
    try {
      const head = await client.headObject({ Bucket: bucket, Key: `${key}.info` });
      return head.Metadata?.['upload-id'];
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  return {
    kind: 's3',
    uploads: store,
    async readHead(key, length) {
      // At least one byte is asked for: `bytes=0--1` is not a range.
      const body = await getUpload(key, { start: 0, end: Math.max(length, 1) - 1 });
      return Buffer.from(await body.transformToByteArray()).subarray(0, Math.max(length, 0));
    },
    async read(key, range) {
      if (range) checkRange(range);
      const body = await getUpload(key, range);
      if (!(body instanceof Readable)) throw new Error('S3 body is not a Node stream');
      return body;
    },
    async put(key, bytes, contentType) {
      await client.putObject({ Bucket: bucket, Key: `${DERIVED}${key}`, Body: bytes, ContentType: contentType });
    },
    async get(key) {
      const body = await getObject(`${DERIVED}${key}`).catch((error) => {
        throw error instanceof FileNotFoundError ? new FileNotFoundError(key) : error;
      });
      return Buffer.from(await body.transformToByteArray());
    },
    delete: (key) => remove(key),
    async deleteExpired() {
      // Not S3Store.deleteExpired, whose answer is the number of keys DeleteObjects reports (an upload's `.info`
      // and `.part`, whether they existed or not) rather than of uploads; the listing and the abort are the same.
      if (uploadExpiryMs <= 0) return 0;
      let removed = 0;
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      for (;;) {
        const page = await client.listMultipartUploads({ Bucket: bucket, KeyMarker, UploadIdMarker });
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId || !upload.Initiated) continue;
          if (Date.now() <= upload.Initiated.getTime() + uploadExpiryMs) continue;
          await remove(upload.Key, upload.UploadId);
          removed++;
        }
        if (!page.IsTruncated) return removed;
        KeyMarker = page.NextKeyMarker;
        UploadIdMarker = page.NextUploadIdMarker;
      }
    },
    async ping() {
      await client.headBucket({ Bucket: bucket });
    },
    async close() {
      client.destroy();
      store.destroy();
    },
  };
}

/** S3Store builds its own S3 client and keeps it protected; this lets close() release its sockets. */
class ClosableS3Store extends S3Store {
  destroy(): void {
    this.client.destroy();
  }
}

class NoCache implements KvStore<MetadataValue> {
  async get(): Promise<undefined> {
    return undefined;
  }
  async set(): Promise<void> {}
  async delete(): Promise<void> {}
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: string } | null)?.name;
}

/** NoSuchKey from GET; NotFound from HEAD, whose 404 has no body to name the error. Not NoSuchBucket: that is misconfiguration. */
function isMissing(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NoSuchKey' || name === 'NotFound';
}

/**
 * Some S3-compatible servers ignore a Range they do not understand and send more (s3rver: any range ending at
 * byte 0); passed on, those bytes would go out under a 206 claiming the range asked for.
 */
function checkAnswered(range: { start: number; end: number }, contentRange: string | undefined, key: string): void {
  const match = /^bytes (\d+)-(\d+)\//.exec(contentRange ?? '');
  if (!match || Number(match[1]) !== range.start || Number(match[2]) > range.end) {
    throw new Error(`S3 answered ${contentRange ?? 'the whole object'} for bytes ${range.start}-${range.end} of ${key}`);
  }
}

function checkRange({ start, end }: { start: number; end: number }): void {
  // S3 ignores a malformed Range header and answers with the whole object, so refuse one before sending it.
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`bad byte range ${start}-${end}`);
  }
}
