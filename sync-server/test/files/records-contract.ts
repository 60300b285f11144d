import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileIdTakenError, type FileRecord, type FileRecordStore } from '../../src/files/records';

export interface FileRecordHarness {
  records: FileRecordStore;
  /** Closes the store and removes its data. */
  destroy(): Promise<void>;
}

/** Each call gets a store of its own (own file or database), so sums and listings are exact. */
export type FileRecordFactory = () => Promise<FileRecordHarness>;

const OWNER = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const OTHER = 'bbbbbbbbbbbbbbbbbbbbbbbb';
const CONVERSATION = `c.${OWNER}.${OTHER}`;

/** A minute after a fixed origin, as ISO strings: the form FileService writes (toISOString). */
const at = (minute: number) => new Date(Date.UTC(2030, 0, 1) + minute * 60_000).toISOString();

function record(overrides: Partial<FileRecord> = {}): FileRecord {
  return {
    id: randomUUID(),
    ownerId: OWNER,
    conversationId: CONVERSATION,
    filename: 'brief.pdf',
    declaredType: 'application/pdf',
    size: 1000,
    status: 'uploading',
    mimeType: null,
    thumbnail: false,
    messageId: null,
    rejection: null,
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}

const byId = (a: FileRecord, b: FileRecord) => a.id.localeCompare(b.id);

/**
 * One suite for every adapter of the FileRecordStore port (SQLite, MongoDB), in the style of
 * test/store/storage-contract.ts: what FileService relies on, method by method.
 */
export function registerFileRecordContractTests(name: string, factory: FileRecordFactory): void {
  describe(`file record contract: ${name}`, () => {
    let h: FileRecordHarness;
    let records: FileRecordStore;
    beforeEach(async () => {
      h = await factory();
      records = h.records;
    });
    afterEach(async () => {
      await h.destroy();
    });

    it('R1 create then get gives back every field as written, nulls and booleans included', async () => {
      const full = record({
        filename: 'Ångström — résumé 📎 v2.final.docx',
        declaredType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        // Over 2^32: a size must not pass through a 32-bit integer.
        size: 5 * 1024 ** 3 + 7,
        status: 'rejected',
        mimeType: 'application/zip',
        thumbnail: true,
        messageId: randomUUID(),
        rejection: { code: 'FILE_INFECTED', message: 'the scanner found Eicar-Test-Signature' },
        createdAt: at(1),
        updatedAt: at(2),
      });
      const bare = record({ size: 0 });
      await records.create(structuredClone(full));
      await records.create(structuredClone(bare));

      expect(await records.get(full.id)).toStrictEqual(full);
      expect(await records.get(bare.id)).toStrictEqual(bare);
      expect(await records.get(randomUUID())).toBeNull();
    });

    it('R2 create of a taken id throws FileIdTakenError and leaves the first record as it was', async () => {
      const first = record({ filename: 'first.pdf' });
      await records.create(first);
      const error = await records.create(record({ id: first.id, ownerId: OTHER, filename: 'second.pdf' })).then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(FileIdTakenError);
      expect(error).toMatchObject({ id: first.id });
      expect(await records.get(first.id)).toStrictEqual(first);
    });

    it('R3 update sets only the fields in the patch (and updatedAt), only on that record', async () => {
      const rec = record();
      const neighbour = record();
      await records.create(rec);
      await records.create(neighbour);

      await records.update(rec.id, { status: 'ready', mimeType: 'application/pdf', updatedAt: at(5) });
      let expected: FileRecord = { ...rec, status: 'ready', mimeType: 'application/pdf', updatedAt: at(5) };
      expect(await records.get(rec.id)).toStrictEqual(expected);

      await records.update(rec.id, { thumbnail: true, updatedAt: at(6) });
      expected = { ...expected, thumbnail: true, updatedAt: at(6) };
      expect(await records.get(rec.id)).toStrictEqual(expected);

      const rejection = { code: 'FILE_TYPE_MISMATCH', message: 'declared as application/pdf, but its bytes are image/png' };
      await records.update(rec.id, { status: 'rejected', rejection, updatedAt: at(7) });
      expected = { ...expected, status: 'rejected', rejection, updatedAt: at(7) };
      expect(await records.get(rec.id)).toStrictEqual(expected);

      // Clearing is a patch too: null is a value, not "not given".
      await records.update(rec.id, { mimeType: null, thumbnail: false, rejection: null, updatedAt: at(8) });
      expected = { ...expected, mimeType: null, thumbnail: false, rejection: null, updatedAt: at(8) };
      expect(await records.get(rec.id)).toStrictEqual(expected);

      expect(await records.get(neighbour.id)).toStrictEqual(neighbour);
    });

    it('R3b a patch key holding undefined counts as not given', async () => {
      const rec = record({ status: 'ready', mimeType: 'image/png', thumbnail: true, rejection: { code: 'X', message: 'kept' } });
      await records.create(rec);
      await records.update(rec.id, {
        status: undefined,
        mimeType: undefined,
        thumbnail: undefined,
        rejection: undefined,
        updatedAt: at(3),
      });
      expect(await records.get(rec.id)).toStrictEqual({ ...rec, updatedAt: at(3) });
    });

    it('R4 update of an unknown id creates nothing', async () => {
      const id = randomUUID();
      await records.update(id, { status: 'ready', updatedAt: at(1) });
      expect(await records.get(id)).toBeNull();
      expect(await records.stale(at(1_000_000), 10)).toEqual([]);
    });

    it('R5 bind attaches a free file, is idempotent for the same message, and refuses another message', async () => {
      const rec = record({ status: 'ready', mimeType: 'application/pdf' });
      await records.create(rec);
      const message = randomUUID();
      const other = randomUUID();

      expect(await records.bind(rec.id, message)).toBe(true);
      expect(await records.get(rec.id)).toStrictEqual({ ...rec, messageId: message });
      expect(await records.bind(rec.id, message)).toBe(true);
      expect(await records.bind(rec.id, other)).toBe(false);
      expect((await records.get(rec.id))?.messageId).toBe(message);
      expect(await records.byMessage(other)).toEqual([]);

      expect(await records.bind(randomUUID(), message)).toBe(false);
    });

    it('R5b bind takes only a ready file: an upload in progress, a refused or a deleted file stays free', async () => {
      for (const status of ['uploading', 'rejected', 'deleted'] as const) {
        const rec = record({ status });
        await records.create(rec);
        expect(await records.bind(rec.id, randomUUID())).toBe(false);
        expect((await records.get(rec.id))?.messageId).toBeNull();
      }
    });

    it('R11 expire marks a stale candidate deleted, and excludes bind: an attached or recent file is never expired', async () => {
      const loose = record({ status: 'ready', updatedAt: at(1) });
      const attached = record({ status: 'ready', updatedAt: at(1) });
      const recent = record({ status: 'uploading', updatedAt: at(20) });
      for (const r of [loose, attached, recent]) await records.create(r);
      const message = randomUUID();
      expect(await records.bind(attached.id, message)).toBe(true);

      expect(await records.expire(attached.id, at(10))).toBe(false);
      expect(await records.expire(recent.id, at(10))).toBe(false);
      expect(await records.expire(randomUUID(), at(10))).toBe(false);
      expect(await records.expire(loose.id, at(10))).toBe(true);
      expect((await records.get(loose.id))?.status).toBe('deleted');
      // Once expired it cannot be taken by a message any more.
      expect(await records.bind(loose.id, randomUUID())).toBe(false);
      expect(await records.get(attached.id)).toStrictEqual({ ...attached, messageId: message });
      expect((await records.get(recent.id))?.status).toBe('uploading');
    });

    it('R6 byMessage gives the files bound to that message and no other', async () => {
      const m1 = randomUUID();
      const m2 = randomUUID();
      const a = record({ status: 'ready' });
      const b = record({ status: 'ready', filename: 'b.png' });
      const c = record({ status: 'ready' });
      const loose = record({ status: 'ready' });
      for (const r of [a, b, c, loose]) await records.create(r);
      await records.bind(a.id, m1);
      await records.bind(b.id, m1);
      await records.bind(c.id, m2);

      expect((await records.byMessage(m1)).sort(byId)).toStrictEqual(
        [
          { ...a, messageId: m1 },
          { ...b, messageId: m1 },
        ].sort(byId),
      );
      expect(await records.byMessage(m2)).toStrictEqual([{ ...c, messageId: m2 }]);
      expect(await records.byMessage(randomUUID())).toEqual([]);
    });

    it('R7 usedBytes sums uploading and ready files of that owner only, and follows status changes', async () => {
      expect(await records.usedBytes(OWNER)).toBe(0);
      const uploading = record({ size: 100, status: 'uploading' });
      const attached = record({ size: 200, status: 'ready', messageId: randomUUID() });
      const loose = record({ size: 400, status: 'ready' });
      await records.create(uploading);
      await records.create(attached);
      await records.create(loose);
      await records.create(record({ size: 1_000, status: 'rejected' }));
      await records.create(record({ size: 3_000, status: 'deleted' }));
      await records.create(record({ size: 50_000, status: 'ready', ownerId: OTHER }));
      await records.create(record({ size: 90_000, status: 'uploading', ownerId: OTHER }));

      expect(await records.usedBytes(OWNER)).toBe(700);
      expect(await records.usedBytes(OTHER)).toBe(140_000);
      expect(await records.usedBytes('cccccccccccccccccccccccc')).toBe(0);

      await records.update(loose.id, { status: 'deleted', updatedAt: at(1) });
      await records.update(uploading.id, { status: 'rejected', updatedAt: at(1) });
      expect(await records.usedBytes(OWNER)).toBe(200);
      await records.remove([attached.id]);
      expect(await records.usedBytes(OWNER)).toBe(0);
    });

    it('R8 stale gives uploading, rejected, deleted and unattached ready records changed before the cut-off, oldest first', async () => {
      const cutoff = at(100);
      // Inserted out of order, so the order of the answer is the adapter's doing.
      const rejected = record({ status: 'rejected', updatedAt: at(30), rejection: { code: 'FILE_INFECTED', message: 'x' } });
      const uploading = record({ status: 'uploading', updatedAt: at(10) });
      const loose = record({ status: 'ready', mimeType: 'application/pdf', updatedAt: at(40) });
      const deleted = record({ status: 'deleted', messageId: randomUUID(), updatedAt: at(20) });
      const attached = record({ status: 'ready', mimeType: 'application/pdf', messageId: randomUUID(), updatedAt: at(5) });
      const fresh = record({ status: 'uploading', updatedAt: at(101) });
      const freshLoose = record({ status: 'ready', updatedAt: at(150) });
      const atCutoff = record({ status: 'rejected', updatedAt: cutoff });
      // Created long ago but changed recently: staleness is by updatedAt.
      const touched = record({ status: 'uploading', createdAt: at(1), updatedAt: at(120) });
      for (const r of [rejected, uploading, loose, deleted, attached, fresh, freshLoose, atCutoff, touched]) await records.create(r);

      expect(await records.stale(cutoff, 100)).toStrictEqual([uploading, deleted, rejected, loose]);
      expect(await records.stale(cutoff, 2)).toStrictEqual([uploading, deleted]);
      expect(await records.stale(at(0), 100)).toEqual([]);
    });

    it('R9 stale follows bind and update: a file bound to a message stops being a candidate, a file changed recently too', async () => {
      const loose = record({ status: 'ready', updatedAt: at(1) });
      const later = record({ status: 'uploading', updatedAt: at(2) });
      await records.create(loose);
      await records.create(later);
      expect((await records.stale(at(10), 10)).map((r) => r.id)).toEqual([loose.id, later.id]);

      await records.bind(loose.id, randomUUID());
      await records.update(later.id, { status: 'ready', updatedAt: at(20) });
      expect(await records.stale(at(10), 10)).toEqual([]);
    });

    it('R10 remove deletes exactly the given records; empty and unknown ids are no-ops', async () => {
      const a = record();
      const b = record();
      const c = record();
      for (const r of [a, b, c]) await records.create(r);

      await records.remove([]);
      await records.remove([randomUUID()]);
      expect(await records.get(a.id)).toStrictEqual(a);

      await records.remove([a.id, b.id, randomUUID()]);
      expect(await records.get(a.id)).toBeNull();
      expect(await records.get(b.id)).toBeNull();
      expect(await records.get(c.id)).toStrictEqual(c);

      // A removed id is free again (a cancelled upload retried with the same file id).
      await records.create(record({ id: a.id, filename: 'again.pdf' }));
      expect((await records.get(a.id))?.filename).toBe('again.pdf');
    });
  });
}
