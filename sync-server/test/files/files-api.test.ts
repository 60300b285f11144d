import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FILE_ROUTES, type FileInfo } from '@fetchwork/shared-schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CuttingProxy } from '../support/cutting-proxy';
import { draftMessage } from '../support/docs';
import { api, push, startTestServer, type TestServer, waitFor } from '../support/test-server';
import { threeUsers } from '../support/two-users';
import { PDF_BYTES, pngBytes, upload } from '../support/uploads';

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('files: upload → message → download, over the real server and disk storage', () => {
  let server: TestServer;
  let users: Awaited<ReturnType<typeof threeUsers>>;

  beforeAll(async () => {
    server = await startTestServer({ files: { policy: { maxFileBytes: 8 * 1024 * 1024, quotaBytes: 20 * 1024 * 1024 } } });
    users = await threeUsers(server);
  });
  afterAll(async () => {
    users.close();
    await server.stop();
  });

  const sendWith = (attachments: unknown[], from = users.a, to = users.b, content = 'see attached') =>
    push(from.socket, {
      collection: 'messages',
      rows: [
        {
          newDocumentState: draftMessage(users.conversationId, from.id, to.id, content, {
            messageType: 'file',
            attachments: attachments as never,
          }),
        },
      ],
    });

  async function uploadReady(bytes: Buffer, filename: string, filetype: string, who = users.a) {
    const done = await upload(server, who.token, { bytes, conversation: users.conversationId, filename, filetype });
    if (!done.ok) throw new Error(`upload refused: ${JSON.stringify(done.body)}`);
    return done;
  }

  async function download(token: string, fileId: string, message?: string, disposition?: 'inline' | 'attachment') {
    const link = await api(server, 'POST', `/api/files/${fileId}/link`, token, { message, disposition });
    if (link.status !== 200) return { link, res: null };
    return { link, res: await fetch(link.body.url) };
  }

  it('the recipient downloads exactly the bytes the sender uploaded, with the verified type and a safe disposition', async () => {
    const bytes = Buffer.concat([PDF_BYTES, randomBytes(300_000)]);
    const up = await uploadReady(bytes, 'brief v2 — final.pdf', 'application/pdf');
    expect(up.info).toMatchObject({
      status: 'ready',
      attachment: { filename: 'brief v2 — final.pdf', size: bytes.length, mimeType: 'application/pdf' },
    });
    const message = draftMessage(users.conversationId, users.a.id, users.b.id, 'the brief', {
      messageType: 'file',
      attachments: [up.info!.attachment!],
    });
    const ack = await push(users.a.socket, { collection: 'messages', rows: [{ newDocumentState: message }] });
    expect(ack.rejected).toEqual([]);

    const { link, res } = await download(users.b.token, up.fileId, message.id);
    expect(link.status).toBe(200);
    expect(res!.status).toBe(200);
    expect(res!.headers.get('content-type')).toBe('application/pdf');
    expect(res!.headers.get('content-disposition')).toContain('attachment');
    expect(res!.headers.get('content-disposition')).toContain("filename*=UTF-8''brief%20v2%20%E2%80%94%20final.pdf");
    expect(res!.headers.get('x-content-type-options')).toBe('nosniff');
    expect(sha(Buffer.from(await res!.arrayBuffer()))).toBe(sha(bytes));

    // A byte range (a player or a resumed download) answers 206 with just those bytes.
    const ranged = await fetch(link.body.url, { headers: { range: 'bytes=100-199' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);
  });

  it('an image gets a thumbnail the recipient can fetch, and opens inline; a PDF never opens inline', async () => {
    const png = await pngBytes(1200, 800);
    const up = await uploadReady(png, 'mockup.png', 'image/png');
    expect(up.info?.thumbnail).toBe(true);
    const message = draftMessage(users.conversationId, users.a.id, users.b.id, '', {
      messageType: 'file',
      attachments: [up.info!.attachment!],
    });
    expect((await push(users.a.socket, { collection: 'messages', rows: [{ newDocumentState: message }] })).rejected).toEqual([]);

    const thumb = await fetch(`${server.url}${FILE_ROUTES.thumbnail(up.fileId)}?message=${message.id}`, {
      headers: { authorization: `Bearer ${users.b.token}` },
    });
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const { default: sharp } = await import('sharp');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(meta.format).toBe('webp');
    expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBeLessThanOrEqual(480);

    const inline = await download(users.b.token, up.fileId, message.id, 'inline');
    expect(inline.res!.headers.get('content-disposition')).toMatch(/^inline/);
    expect(inline.res!.headers.get('content-type')).toBe('image/png');
  });

  it('an upload cut mid-way resumes where it stopped: less than 1.2× the file crosses the network in total', async () => {
    const proxy = new CuttingProxy(server.port);
    const through = await proxy.listen();
    try {
      const bytes = Buffer.concat([PDF_BYTES, randomBytes(6 * 1024 * 1024)]);
      proxy.cutAfter(Math.floor(bytes.length * 0.6));
      const done = await upload(server, users.a.token, {
        bytes,
        baseUrl: through,
        conversation: users.conversationId,
        filename: 'portfolio.pdf',
        filetype: 'application/pdf',
        retryDelays: [50, 100, 200, 400, 800],
      });
      expect(proxy.cuts).toBe(1);
      expect(done.ok).toBe(true);
      expect(proxy.sent).toBeLessThan(bytes.length * 1.2);
      const message = draftMessage(users.conversationId, users.a.id, users.b.id, '', {
        messageType: 'file',
        attachments: [(done as { info: FileInfo }).info.attachment!],
      });
      expect((await push(users.a.socket, { collection: 'messages', rows: [{ newDocumentState: message }] })).rejected).toEqual([]);
      const { res } = await download(users.b.token, done.fileId, message.id);
      expect(sha(Buffer.from(await res!.arrayBuffer()))).toBe(sha(bytes));
    } finally {
      await proxy.close();
    }
  });

  it('a stranger, a tampered link and an expired link are refused and reveal nothing', async () => {
    const up = await uploadReady(Buffer.concat([PDF_BYTES, randomBytes(1000)]), 'contract.pdf', 'application/pdf');
    const message = draftMessage(users.conversationId, users.a.id, users.b.id, 'contract', {
      messageType: 'file',
      attachments: [up.info!.attachment!],
    });
    await push(users.a.socket, { collection: 'messages', rows: [{ newDocumentState: message }] });

    const unknown = randomUUID();
    for (const path of [`/api/files/${up.fileId}`, `/api/files/${unknown}`]) {
      const asStranger = await api(server, 'GET', `${path}?message=${message.id}`, users.c.token);
      expect(asStranger.status).toBe(404);
      expect(asStranger.body.error.code).toBe('NOT_FOUND');
    }
    expect((await api(server, 'POST', `/api/files/${up.fileId}/link`, users.c.token, { message: message.id })).status).toBe(404);
    expect((await fetch(`${server.url}${FILE_ROUTES.thumbnail(up.fileId)}`)).status).toBe(401);

    const { link } = await download(users.b.token, up.fileId, message.id);
    const stolen = new URL((link.body as { url: string }).url);
    stolen.searchParams.set('u', users.c.id);
    const tampered = await fetch(stolen);
    expect(tampered.status).toBe(403);
    expect(((await tampered.json()) as { error: { code: string } }).error.code).toBe('LINK_EXPIRED');

    const expired = new URL((link.body as { url: string }).url);
    expired.searchParams.set('e', String(Math.floor(Date.now() / 1000) - 1));
    expect((await fetch(expired)).status).toBe(403);
  });

  it("a forged attachment reference is refused: another user's file, a changed type, an outside link, a file sent twice", async () => {
    const aliceFile = await uploadReady(Buffer.concat([PDF_BYTES, randomBytes(10)]), 'a.pdf', 'application/pdf');
    const asBob = await sendWith([aliceFile.info!.attachment], users.b, users.a);
    expect(asBob.rejected[0]).toMatchObject({ code: 'ATTACHMENT_INVALID' });

    const relabelled = await sendWith([{ ...aliceFile.info!.attachment, mimeType: 'text/html' }]);
    expect(relabelled.rejected[0]).toMatchObject({ code: 'ATTACHMENT_INVALID' });
    const outside = await sendWith([{ filename: 'x.pdf', url: 'https://evil.example/x.pdf', size: 10, mimeType: 'application/pdf' }]);
    expect(outside.rejected[0]).toMatchObject({ code: 'ATTACHMENT_INVALID' });
    const pending = await sendWith([{ ...aliceFile.info!.attachment, url: `${aliceFile.info!.attachment!.url}#pending` }]);
    expect(pending.rejected[0]).toMatchObject({ code: 'ATTACHMENT_INVALID' });

    expect((await sendWith([aliceFile.info!.attachment])).rejected).toEqual([]);
    const again = await sendWith([aliceFile.info!.attachment]);
    expect(again.rejected[0]).toMatchObject({ code: 'ATTACHMENT_INVALID', message: expect.stringContaining('another message') });
  });

  it('a message naming a file whose upload is not complete is refused as not ready (retryable)', async () => {
    const fileId = randomUUID();
    const meta = { fileId, conversation: users.conversationId, filename: 'half.pdf', filetype: 'application/pdf' };
    // Created, no byte sent yet: what a cut upload leaves behind.
    const created = await fetch(`${server.url}${FILE_ROUTES.uploads}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${users.a.token}`,
        'tus-resumable': '1.0.0',
        'upload-length': '5000',
        'upload-metadata': Object.entries(meta)
          .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
          .join(','),
      },
    });
    expect(created.status).toBe(201);
    const url = `${server.url}/api/files/${fileId}`;
    const info = await api(server, 'GET', `/api/files/${fileId}`, users.a.token);
    expect(info.body).toMatchObject({ status: 'uploading', size: 0, attachment: null });
    const notReady = await sendWith([{ filename: 'half.pdf', url, size: 5000, mimeType: 'application/pdf' }]);
    expect(notReady.rejected[0]).toMatchObject({ code: 'ATTACHMENT_NOT_READY' });
  });

  it('bytes that are not the declared type, a disallowed type and an oversize file are refused before anything is kept', async () => {
    const mismatch = await upload(server, users.a.token, {
      bytes: Buffer.concat([PDF_BYTES, randomBytes(100)]),
      conversation: users.conversationId,
      filename: 'cat.png',
      filetype: 'image/png',
    });
    expect(mismatch).toMatchObject({ ok: false, status: 415, body: { error: { code: 'FILE_TYPE_MISMATCH' } } });
    const info = await api(server, 'GET', `/api/files/${mismatch.fileId}`, users.a.token);
    expect(info.body).toMatchObject({ status: 'rejected', rejection: { code: 'FILE_TYPE_MISMATCH' } });

    const filesDir = join(server.dir, 'files');
    const before = existsSync(filesDir) ? readdirSync(filesDir).length : 0;
    const svg = await upload(server, users.a.token, {
      bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
      conversation: users.conversationId,
      filename: 'x.svg',
      filetype: 'image/svg+xml',
    });
    expect(svg).toMatchObject({ ok: false, status: 415, body: { error: { code: 'FILE_TYPE_NOT_ALLOWED' } } });
    const huge = await upload(server, users.a.token, {
      bytes: Buffer.alloc(9 * 1024 * 1024),
      conversation: users.conversationId,
      filename: 'huge.pdf',
      filetype: 'application/pdf',
    });
    expect(huge).toMatchObject({ ok: false, status: 413, body: { error: { code: 'FILE_TOO_LARGE' } } });
    expect(existsSync(filesDir) ? readdirSync(filesDir).length : 0).toBe(before);

    const stranger = await upload(server, users.c.token, {
      bytes: PDF_BYTES,
      conversation: users.conversationId,
      filename: 'x.pdf',
      filetype: 'application/pdf',
    });
    expect(stranger).toMatchObject({ ok: false, status: 403, body: { error: { code: 'FORBIDDEN' } } });
  });

  it('the quota is checked before an upload starts', async () => {
    const limits = await api(server, 'GET', FILE_ROUTES.limits, users.b.token);
    expect(limits.body).toMatchObject({ maxFileBytes: 8 * 1024 * 1024, quotaBytes: 20 * 1024 * 1024, usedBytes: 0 });
    for (let i = 0; i < 2; i++)
      await uploadReady(Buffer.concat([PDF_BYTES, randomBytes(7 * 1024 * 1024)]), `big${i}.pdf`, 'application/pdf', users.b);
    const over = await upload(server, users.b.token, {
      bytes: Buffer.concat([PDF_BYTES, randomBytes(7 * 1024 * 1024)]),
      conversation: users.conversationId,
      filename: 'big3.pdf',
      filetype: 'application/pdf',
    });
    expect(over).toMatchObject({ ok: false, status: 413, body: { error: { code: 'QUOTA_EXCEEDED' } } });
  });

  it('deleting the message deletes its files for everyone', async () => {
    const up = await uploadReady(Buffer.concat([PDF_BYTES, randomBytes(5000)]), 'gone.pdf', 'application/pdf');
    const message = draftMessage(users.conversationId, users.a.id, users.b.id, 'oops', {
      messageType: 'file',
      attachments: [up.info!.attachment!],
    });
    const created = await push(users.a.socket, { collection: 'messages', rows: [{ newDocumentState: message }] });
    expect(created.rejected).toEqual([]);
    const { link, res } = await download(users.b.token, up.fileId, message.id);
    expect(res!.status).toBe(200);
    const del = await api(server, 'DELETE', `/api/messages/${message.id}`, users.a.token);
    expect(del.status).toBe(200);

    await waitFor(async () => (await fetch(link.body.url)).status === 404, 'the old link to stop working');
    expect((await api(server, 'GET', `/api/files/${up.fileId}`, users.a.token)).status).toBe(404);
    // The record goes first (nobody is served from then on); the bytes follow.
    await waitFor(() => !existsSync(join(server.dir, 'files', up.fileId)), 'the bytes to be removed');
  });

  it('/health names the file storage and says that no scanner is configured', async () => {
    const health = await api(server, 'GET', '/health');
    expect(health.body).toMatchObject({ status: 'ok', checks: { files: 'ok' }, fileStorage: 'disk', fileScanner: 'none' });
  });
});
