import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer as collect } from 'node:stream/consumers';
import { conversationIdFor, type MessageDoc } from '@fetchwork/shared-schema';
import { Upload } from '@tus/utils';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuthUser } from '../../src/auth/tokens';
import { AppError } from '../../src/errors';
import { type FilePolicy, FileService } from '../../src/files/file-service';
import { DEFAULT_FILE_POLICY } from '../../src/files/policy';
import type { FileScanner, ScanResult } from '../../src/files/scanner';
import { LinkSigner } from '../../src/files/signed-links';
import { createDiskStorage } from '../../src/files/storage/disk-storage';
import { FileNotFoundError, type FileStorage } from '../../src/files/storage/port';
import { SqliteStore } from '../../src/store/sqlite-store';
import { draftMessage } from '../support/docs';
import { PDF_BYTES, pngBytes } from '../support/uploads';

/**
 * FileService's rules about scanning and cleanup, on real parts (a SqliteStore and its file
 * records, the disk FileStorage written through its tus DataStore as @tus/server does) with no
 * network. The scanner is a stand-in that calls a marker payload infected or fails on demand.
 * That is legitimate only because clamd-scanner.test.ts, beside this file, runs the real
 * clamdScanner against a real clamd with the same contract (infected → { clean: false, signature },
 * clean → { clean: true }, unreachable → a rejection); this file proves what FileService does
 * with each of those answers, which a real clamd cannot be made to produce on demand.
 */

const ALICE = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const BOB = 'bbbbbbbbbbbbbbbbbbbbbbbb';
const CONVERSATION = conversationIdFor([ALICE, BOB], null);
const alice: AuthUser = { id: ALICE, name: null, email: null, expiresAt: null, sessionId: null };
const PUBLIC_URL = 'http://files.test';
const HOUR = 60 * 60 * 1000;
const MARKER = Buffer.from('FETCHWORK-TEST-INFECTED-MARKER');
const SIGNATURE = 'FetchWork.Test.Marker.UNOFFICIAL';

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const pdf = (extra: Buffer = randomBytes(2000)) => Buffer.concat([PDF_BYTES, extra]);

class StandInScanner implements FileScanner {
  readonly kind = 'stand-in';
  /** 'broken': every scan fails before reading a byte, as clamdScanner does when clamd is down. */
  mode: 'marker' | 'broken' = 'marker';
  /** sha256 of each stream it read to the end. */
  readonly scanned: string[] = [];
  readonly streams: Readable[] = [];

  async scan(bytes: Readable): Promise<ScanResult> {
    this.streams.push(bytes);
    if (this.mode === 'broken') throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3310'), { code: 'ECONNREFUSED' });
    const all = await collect(bytes);
    this.scanned.push(sha(all));
    return all.includes(MARKER) ? { clean: false, signature: SIGNATURE } : { clean: true };
  }

  async ping(): Promise<void> {}
}

interface Rig {
  service: FileService;
  store: SqliteStore;
  storage: FileStorage;
  scanner: StandInScanner;
  directory: string;
  logs: { level: number; msg: string; [key: string]: unknown }[];
  advance(ms: number): void;
}

describe('FileService: scanning and cleanup, on SQLite and disk storage', () => {
  let root: string;
  const rigs: Rig[] = [];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'fw-file-service-'));
  });
  afterEach(async () => {
    for (const rig of rigs.splice(0)) {
      await rig.storage.close();
      await rig.store.close();
    }
    await rm(root, { recursive: true, force: true });
  });

  async function rig(policy: Partial<FilePolicy> = {}): Promise<Rig> {
    const directory = await mkdtemp(join(root, 'files-'));
    const store = new SqliteStore({ path: join(root, `${randomUUID()}.sqlite`) });
    // Expiry 0: tus's own deleteExpired never removes anything, so what cleanup() removes is FileService's doing.
    const storage = createDiskStorage({ directory, uploadExpiryMs: 0 });
    const scanner = new StandInScanner();
    const logs: Rig['logs'] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    let now = Date.parse('2030-03-01T09:00:00.000Z');
    const service = new FileService({
      store,
      records: store.fileRecords(),
      storage,
      scanner,
      signer: new LinkSigner('test-secret-0123456789abcdef'),
      policy: { ...DEFAULT_FILE_POLICY, unattachedTtlMs: 24 * HOUR, ...policy },
      publicUrl: () => PUBLIC_URL,
      log,
      clock: () => new Date(now),
    });
    const advance = (ms: number) => {
      now += ms;
    };
    const made: Rig = { service, store, storage, scanner, directory, logs, advance };
    rigs.push(made);
    return made;
  }

  /**
   * What a tus POST then PATCHes do: beginUpload (the namingFunction), the DataStore's create, then
   * writes at the current offset in network-sized chunks. `upTo` stops early (an abandoned upload).
   */
  async function upload(r: Rig, bytes: Buffer, options: { filename?: string; filetype?: string; upTo?: number } = {}): Promise<string> {
    const metadata = {
      fileId: randomUUID(),
      conversation: CONVERSATION,
      filename: options.filename ?? 'brief.pdf',
      filetype: options.filetype ?? 'application/pdf',
    };
    const id = await r.service.beginUpload(alice, metadata, bytes.length);
    await r.storage.uploads.create(new Upload({ id, size: bytes.length, offset: 0, metadata }));
    const end = options.upTo ?? bytes.length;
    const chunks: Buffer[] = [];
    for (let at = 0; at < end; at += 64 * 1024) chunks.push(bytes.subarray(at, Math.min(at + 64 * 1024, end)));
    if (end > 0) expect(await r.storage.uploads.write(Readable.from(chunks), id, 0)).toBe(end);
    return id;
  }

  /** Every file the disk storage holds for this id (upload, tus .json, thumbnail). */
  async function onDisk(r: Rig, id: string): Promise<string[]> {
    const entries = await readdir(r.directory, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile() && e.name.includes(id)).map((e) => e.name);
  }

  async function tusStatus(r: Rig, id: string): Promise<number | { offset: number; size: number | undefined }> {
    try {
      const found = await r.storage.uploads.getUpload(id);
      return { offset: found.offset, size: found.size };
    } catch (error) {
      const status = (error as { status_code?: number }).status_code;
      if (status === undefined) throw error;
      return status;
    }
  }

  const appError = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (err: unknown) => err,
    );

  it('an infected upload is rejected with FILE_INFECTED and its bytes are deleted; a clean one beside it is ready', async () => {
    const r = await rig();
    const infectedBytes = pdf(Buffer.concat([randomBytes(70_000), MARKER, randomBytes(5_000)]));
    const cleanBytes = pdf();
    const infected = await upload(r, infectedBytes, { filename: 'invoice.pdf' });
    const clean = await upload(r, cleanBytes);
    expect(await onDisk(r, infected)).toEqual(expect.arrayContaining([infected, `${infected}.json`]));

    const rejected = await r.service.finishUpload(infected);
    expect(rejected).toMatchObject({
      id: infected,
      status: 'rejected',
      rejection: { code: 'FILE_INFECTED', message: `the scanner found ${SIGNATURE}` },
    });
    // The scanner was shown exactly the uploaded bytes (it passed the type check first: it is a PDF).
    expect(r.scanner.scanned).toEqual([sha(infectedBytes)]);
    expect(await r.store.fileRecords().get(infected)).toMatchObject({ status: 'rejected', rejection: { code: 'FILE_INFECTED' } });
    await expect(r.storage.read(infected)).rejects.toBeInstanceOf(FileNotFoundError);
    expect(await tusStatus(r, infected)).toBe(404);
    expect(await onDisk(r, infected)).toEqual([]);

    // The uploader learns why; resuming it is refused with the same reason; it no longer counts against the quota.
    expect((await r.service.info(alice, infected)).rejection).toEqual(rejected.rejection);
    const resume = await appError(r.service.authorizeUpload(alice, infected, 'PATCH'));
    expect(resume).toBeInstanceOf(AppError);
    expect(resume).toMatchObject({ code: 'FILE_INFECTED' });
    expect((await r.service.limits(alice)).usedBytes).toBe(cleanBytes.length);
    expect(r.logs.some((l) => l.msg === 'infected upload refused' && l.signature === SIGNATURE && l.fileId === infected)).toBe(true);

    expect(await r.service.finishUpload(clean)).toMatchObject({ status: 'ready', mimeType: 'application/pdf', rejection: null });
    expect(sha(await collect(await r.storage.read(clean)))).toBe(sha(cleanBytes));
  });

  it("scanFailure 'refuse': a scanner that fails leaves the file not ready (finishUpload rejects); a later scan can still make it ready", async () => {
    const r = await rig({ scanFailure: 'refuse' });
    const bytes = pdf();
    const id = await upload(r, bytes);
    r.scanner.mode = 'broken';

    const error = await appError(r.service.finishUpload(id));
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'INTERNAL' });
    expect(await r.store.fileRecords().get(id)).toMatchObject({ status: 'uploading', mimeType: null });
    expect((await r.service.info(alice, id).catch((err: unknown) => err)) as unknown).toMatchObject({ code: 'INTERNAL' });
    await expect(r.service.link(alice, id, { disposition: 'attachment' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(r.logs.some((l) => l.msg === 'file scan failed' && l.fileId === id)).toBe(true);
    // The bytes stay for a retry (the client's status request, or the final PATCH again).
    expect(sha(await collect(await r.storage.read(id)))).toBe(sha(bytes));

    r.scanner.mode = 'marker';
    expect(await r.service.finishUpload(id)).toMatchObject({ status: 'ready', mimeType: 'application/pdf' });
    expect(r.scanner.scanned).toEqual([sha(bytes)]);
  });

  it("scanFailure 'accept': a scanner that fails lets the file become ready unscanned; an infected one is still refused", async () => {
    const r = await rig({ scanFailure: 'accept' });
    const id = await upload(r, pdf());
    r.scanner.mode = 'broken';
    expect(await r.service.finishUpload(id)).toMatchObject({ status: 'ready', mimeType: 'application/pdf' });
    expect(await r.store.fileRecords().get(id)).toMatchObject({ status: 'ready', mimeType: 'application/pdf' });
    expect(r.logs.some((l) => l.msg === 'file scan failed' && l.fileId === id)).toBe(true);

    r.scanner.mode = 'marker';
    const infected = await upload(r, pdf(MARKER));
    expect(await r.service.finishUpload(infected)).toMatchObject({ status: 'rejected', rejection: { code: 'FILE_INFECTED' } });
    expect(await onDisk(r, infected)).toEqual([]);
  });

  it('two finishUpload calls at once (a retried final PATCH) scan once and agree', async () => {
    const r = await rig();
    const id = await upload(r, pdf(MARKER));
    const [one, two] = await Promise.all([r.service.finishUpload(id), r.service.finishUpload(id)]);
    expect(one).toEqual(two);
    expect(one.status).toBe('rejected');
    expect(r.scanner.scanned).toHaveLength(1);
    expect(await r.service.finishUpload(id)).toMatchObject({ status: 'rejected' });
    expect(r.scanner.scanned).toHaveLength(1);
  });

  // clamdScanner fails before reading when clamd is down (connection refused): the stream it was
  // given must still be closed, or each attempt leaks a file descriptor (an S3 socket).
  it('a scan that fails before reading closes the stream it was given', async () => {
    const r = await rig({ scanFailure: 'refuse' });
    const id = await upload(r, pdf());
    r.scanner.mode = 'broken';
    await expect(r.service.finishUpload(id)).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(r.scanner.streams).toHaveLength(1);
    expect(r.scanner.streams[0]!.destroyed).toBe(true);
  });

  it('cleanup removes an unattached ready file (thumbnail too), an abandoned upload and a refused file older than the TTL; keeps attached and young ones', async () => {
    const r = await rig({ unattachedTtlMs: 24 * HOUR });
    const records = r.store.fileRecords();

    const attachedBytes = pdf();
    const attached = await upload(r, attachedBytes, { filename: 'sent.pdf' });
    const attachedRecord = await r.service.finishUpload(attached);
    const message: MessageDoc = (({ _deleted, ...m }) => m)(
      draftMessage(CONVERSATION, ALICE, BOB, 'see attached', {
        messageType: 'file',
        attachments: [r.service.present(attachedRecord).attachment!],
      }),
    );
    expect(await r.service.checkAttachments(message, null)).toBeNull();
    expect((await records.get(attached))?.messageId).toBe(message.id);

    const png = await pngBytes(600, 400);
    const unattached = await upload(r, png, { filename: 'never-sent.png', filetype: 'image/png' });
    expect(await r.service.finishUpload(unattached)).toMatchObject({ status: 'ready', thumbnail: true });
    expect((await r.storage.get(`${unattached}.thumbnail.webp`)).length).toBeGreaterThan(0);

    const abandonedBytes = pdf(randomBytes(200_000));
    const abandoned = await upload(r, abandonedBytes, { filename: 'cut.pdf', upTo: 100_000 });
    expect(await tusStatus(r, abandoned)).toEqual({ offset: 100_000, size: abandonedBytes.length });

    const refused = await upload(r, pdf(MARKER));
    expect((await r.service.finishUpload(refused)).status).toBe('rejected');

    // Nothing is old yet: a cleanup now removes nothing.
    r.advance(24 * HOUR - 1000);
    const youngUpload = await upload(r, pdf(), { upTo: 500 });
    expect(await r.service.cleanup()).toBe(0);
    expect(await onDisk(r, unattached)).not.toEqual([]);

    r.advance(2000);
    const youngReady = await upload(r, pdf());
    await r.service.finishUpload(youngReady);

    expect(await r.service.cleanup()).toBe(3);

    for (const gone of [unattached, abandoned, refused]) {
      expect(await records.get(gone), gone).toBeNull();
      expect(await tusStatus(r, gone), gone).toBe(404);
      expect(await onDisk(r, gone), gone).toEqual([]);
    }
    await expect(r.storage.get(`${unattached}.thumbnail.webp`)).rejects.toBeInstanceOf(FileNotFoundError);

    expect(await records.get(attached)).toMatchObject({ status: 'ready', messageId: message.id });
    expect(sha(await collect(await r.storage.read(attached)))).toBe(sha(attachedBytes));
    expect(await records.get(youngReady)).toMatchObject({ status: 'ready', messageId: null });
    expect(await tusStatus(r, youngReady)).toMatchObject({ offset: expect.any(Number) });
    expect(await records.get(youngUpload)).toMatchObject({ status: 'uploading' });
    expect(await tusStatus(r, youngUpload)).toMatchObject({ offset: 500 });

    expect((await r.service.limits(alice)).usedBytes).toBe(
      attachedBytes.length + (await records.get(youngReady))!.size + (await records.get(youngUpload))!.size,
    );
    expect(await r.service.cleanup()).toBe(0);
  });
});
