import { type Attachment, type FileInfo, fileIdOfAttachmentUrl } from '@fetchwork/shared-schema';
import { DefaultHttpStack, type HttpRequest, type HttpStack } from 'tus-js-client';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { CuttingProxy } from '../../sync-server/test/support/cutting-proxy';
import { samplePdf } from '../../sync-server/test/support/pdfs';
import { api } from '../../sync-server/test/support/test-server';
import { PDF_BYTES, pngBytes } from '../../sync-server/test/support/uploads';
import { FileCheckError } from '../src/files/file-limits';
import type { InboxHandle } from '../src/inbox/create-inbox';
import type { FileUploadView } from '../src/inbox-api';
import { closeAllDevices, type DeviceOptions, makeUser, openDevice, type TestUser, until } from './support/devices';
import { replicaMessages, serverMessages } from './support/replica';
import { type RestartableServer, startRestartableServer } from './support/server';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterEach(closeAllDevices);
afterAll(() => server.dispose());

/** tus's own HTTP stack, recording every request (and optionally slowing PATCHes down). */
class RecordingStack implements HttpStack {
  readonly requests: { method: string; url: string; fileId: string | null; bytes: number; answered: Promise<void> }[] = [];
  patchDelayMs = 0;
  private readonly inner = new DefaultHttpStack({});

  createRequest(method: string, url: string): HttpRequest {
    const req = this.inner.createRequest(method, url);
    const send = req.send.bind(req);
    req.send = async (body: unknown) => {
      const bytes = body instanceof Uint8Array ? body.length : 0;
      let settle = () => {};
      const answered = new Promise<void>((resolve) => {
        settle = resolve;
      });
      // Recorded when sent (what the client asked for), answered when the server has replied.
      this.requests.push({ method, url, fileId: metadataFileId(req.getHeader('Upload-Metadata')), bytes, answered });
      try {
        if (method === 'PATCH' && this.patchDelayMs > 0) await new Promise((r) => setTimeout(r, this.patchDelayMs));
        return await send(body);
      } finally {
        settle();
      }
    };
    return req;
  }

  getName(): string {
    return 'recording';
  }

  count(method: string, fileId?: string): number {
    return this.requests.filter((r) => r.method === method && (fileId === undefined || r.fileId === fileId)).length;
  }

  /** Until every request of this method sent so far has its answer (or failed). */
  async answered(method: string): Promise<void> {
    await Promise.all(this.requests.filter((r) => r.method === method).map((r) => r.answered));
  }
}

function metadataFileId(header: string | undefined): string | null {
  const pair = header
    ?.split(',')
    .map((p) => p.trim().split(' '))
    .find(([k]) => k === 'fileId');
  return pair?.[1] ? Buffer.from(pair[1], 'base64').toString('utf8') : null;
}

/** Every messages row this device pushes, as sent. */
function watchPushes(inbox: InboxHandle): { id: string; attachments: Attachment[] }[] {
  const rows: { id: string; attachments: Attachment[] }[] = [];
  const socket = inbox.socket as unknown as { emit(event: string, ...args: unknown[]): unknown };
  const original = socket.emit.bind(socket);
  socket.emit = (event: string, ...args: unknown[]) => {
    const payload = args[0] as { collection?: string; rows?: { newDocumentState: { id: string; attachments: Attachment[] } }[] };
    if (event === 'sync:push' && payload?.collection === 'messages') {
      for (const r of payload.rows ?? []) rows.push({ id: r.newDocumentState.id, attachments: r.newDocumentState.attachments });
    }
    return original(event, ...args);
  };
  return rows;
}

const file = (bytes: Uint8Array, name: string, type: string) => new File([new Uint8Array(bytes)], name, { type });

/** A PDF of `size` bytes (the magic numbers, then filler). */
function bigPdf(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 7919) % 251;
  out.set(PDF_BYTES, 0);
  return out;
}

async function conversationOnline(alice: TestUser, bob: TestUser, options: DeviceOptions = {}) {
  const a = await openDevice(options.serverUrl ?? server.url, alice, options);
  const b = await openDevice(server.url, bob);
  const conv = await a.createConversation(bob.id, null, 'Bob');
  await (await a.whenLeader()).awaitInSync();
  return { a, b, conv };
}

const uploadsOf = (inbox: InboxHandle, messageId: string, check: (files: FileUploadView[]) => boolean, what: string, ms?: number) =>
  until(inbox.uploads$(messageId), check, what, ms);

async function fileInfo(fileId: string, token: string): Promise<FileInfo> {
  const res = await api(server, 'GET', `/api/files/${fileId}`, token);
  expect(res.status).toBe(200);
  return res.body as FileInfo;
}

describe('files in messages', () => {
  test('two files sent offline are uploaded once each when online; the message goes out once, with the server attachments', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const stack = new RecordingStack();
    const { a, b, conv } = await conversationOnline(alice, bob, { files: { upload: { httpStack: stack, chunkSize: 64 * 1024 } } });
    const pushes = watchPushes(a);

    await server.stop();
    const png = await pngBytes(120, 80);
    const pdf = bigPdf(300 * 1024);
    const sent = await a.sendMessageWithFiles(conv, 'the brief and a sketch', [
      file(png, 'sketch.png', 'image/png'),
      file(pdf, 'brief.pdf', 'application/pdf'),
    ]);
    expect(sent.status).toBe('pending');
    expect(sent.messageType).toBe('file');
    expect(sent.attachments.map((x) => [x.filename, x.size, x.mimeType, x.url.endsWith('#pending')])).toEqual([
      ['sketch.png', png.length, 'image/png', true],
      ['brief.pdf', pdf.length, 'application/pdf', true],
    ]);
    const queued = await uploadsOf(a, sent.id, (f) => f.length === 2, 'two queued files');
    expect(queued.map((f) => f.state)).toEqual(['queued', 'queued']);
    // The local blob is the preview of a queued image.
    expect((await a.filePreview(sent.id, sent.attachments[0]!))?.size).toBe(png.length);

    await server.start();
    const delivered = await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.id === sent.id), 'Bob receives the file message');
    const theirs = delivered.find((m) => m.id === sent.id)!;
    expect(theirs.content).toBe('the brief and a sketch');
    expect(theirs.attachments).toHaveLength(2);

    // Exactly what the server answered for each file.
    const ids = theirs.attachments.map((x) => fileIdOfAttachmentUrl(x.url));
    const fileIds = queued.map((f) => f.fileId);
    expect(ids).toEqual(fileIds);
    for (const [i, att] of theirs.attachments.entries()) expect(att).toEqual((await fileInfo(fileIds[i]!, alice.token)).attachment);

    // Each file created once and its bytes sent once; the message pushed once, never with a pending url.
    for (const [i, id] of fileIds.entries()) {
      expect(stack.count('POST', id)).toBe(1);
      const patched = stack.requests.filter((r) => r.method === 'PATCH' && r.url.includes(id)).reduce((n, r) => n + r.bytes, 0);
      expect(patched).toBe([png.length, pdf.length][i]);
    }
    const rows = pushes.filter((r) => r.id === sent.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.attachments).toEqual(theirs.attachments);
    expect((await serverMessages(server, alice.id)).filter((m) => m.id === sent.id)).toHaveLength(1);

    // The sender's copy is the server's too, and the queue is empty.
    await until(a.messages$(conv, 10), (ms) => ms.find((m) => m.id === sent.id)?.status !== 'pending', 'sent on Alice');
    const mine = (await replicaMessages(a)).find((m) => m.id === sent.id)!;
    expect(mine.attachments).toEqual(theirs.attachments);
    await uploadsOf(a, sent.id, (f) => f.length === 0, 'queue emptied');

    // Bob's preview of the image: the server's thumbnail, fetched once and cached.
    const thumb = await b.filePreview(sent.id, theirs.attachments[0]!);
    expect(thumb?.type).toBe('image/webp');
    expect(await b.filePreview(sent.id, theirs.attachments[1]!)).toBeNull();
    const link = await b.fileLink(sent.id, theirs.attachments[1]!, 'attachment');
    const download = await fetch(link.url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(Buffer.from(pdf))).toBe(true);
  });

  test('an upload cut mid-way resumes where the server stands (less than 1.2× the file is sent)', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const proxy = new CuttingProxy(server.current.port);
    const proxyUrl = await proxy.listen();
    try {
      const { a, b, conv } = await conversationOnline(alice, bob, {
        serverUrl: proxyUrl,
        files: { upload: { chunkSize: 128 * 1024, retryDelays: [100], backoffMinMs: 100 } },
      });
      const size = 3 * 1024 * 1024;
      const before = proxy.sent;
      proxy.cutAfter(size / 2);
      const sent = await a.sendMessageWithFiles(conv, '', [file(bigPdf(size), 'deliverable.pdf', 'application/pdf')]);
      await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.id === sent.id), 'Bob receives the file', 25_000);
      expect(proxy.cuts).toBe(1);
      const through = proxy.sent - before;
      expect(through).toBeGreaterThan(size);
      expect(through).toBeLessThan(size * 1.2);
    } finally {
      await proxy.close();
    }
  });

  test('a reload in the middle of an upload resumes from the stored upload url, not from zero', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const stack = new RecordingStack();
    stack.patchDelayMs = 20;
    const options: DeviceOptions = {
      databaseName: `files-reload-${alice.id}`,
      files: { upload: { httpStack: stack, chunkSize: 128 * 1024 } },
    };
    const { a, b, conv } = await conversationOnline(alice, bob, options);
    const size = 2 * 1024 * 1024;
    const sent = await a.sendMessageWithFiles(conv, 'final version', [file(bigPdf(size), 'final.pdf', 'application/pdf')]);
    await uploadsOf(a, sent.id, (f) => (f[0]?.bytesSent ?? 0) >= size / 3, 'a third uploaded');
    await a.close();

    const reopened = await openDevice(server.url, alice, options);
    await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.id === sent.id), 'Bob receives the file');
    await until(reopened.messages$(conv, 10), (ms) => ms.find((m) => m.id === sent.id)?.status !== 'pending', 'sent after the reload');
    const fileId = fileIdOfAttachmentUrl((await replicaMessages(reopened)).find((m) => m.id === sent.id)!.attachments[0]!.url)!;
    expect(stack.count('POST', fileId)).toBe(1);
    expect(stack.count('HEAD')).toBeGreaterThanOrEqual(1);
    const patched = stack.requests.filter((r) => r.method === 'PATCH').reduce((n, r) => n + r.bytes, 0);
    expect(patched).toBeLessThan(size * 1.2);
  });

  test('a file the server refuses ends failed with its code; the message waits, and goes without it once removed', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const { a, b, conv } = await conversationOnline(alice, bob);
    const pushes = watchPushes(a);
    const png = await pngBytes();
    // Declared an image, but the bytes are a PDF.
    const sent = await a.sendMessageWithFiles(conv, 'two files', [
      file(PDF_BYTES, 'photo.png', 'image/png'),
      file(png, 'real.png', 'image/png'),
    ]);
    const failed = await uploadsOf(a, sent.id, (f) => f[0]?.state === 'failed' && f[1]?.state === 'done', 'one refused, one done');
    expect(failed[0]!.error?.code).toBe('FILE_TYPE_MISMATCH');
    await new Promise((r) => setTimeout(r, 500));
    expect(pushes.filter((r) => r.id === sent.id)).toHaveLength(0);
    expect((await serverMessages(server, alice.id)).some((m) => m.id === sent.id)).toBe(false);

    await a.cancelUpload(sent.id, failed[0]!.fileId);
    const received = await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.id === sent.id), 'Bob receives the rest');
    const message = received.find((m) => m.id === sent.id)!;
    expect(message.attachments.map((x) => x.filename)).toEqual(['real.png']);
    expect(pushes.filter((r) => r.id === sent.id)).toHaveLength(1);
  });

  test('cancelling the only file of a message without text stops the upload, deletes it on the server and discards the message', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const stack = new RecordingStack();
    stack.patchDelayMs = 50;
    const { a, conv } = await conversationOnline(alice, bob, { files: { upload: { httpStack: stack, chunkSize: 64 * 1024 } } });
    const pushes = watchPushes(a);
    const sent = await a.sendMessageWithFiles(conv, '', [file(bigPdf(1024 * 1024), 'draft.pdf', 'application/pdf')]);
    const [started] = await uploadsOf(a, sent.id, (f) => (f[0]?.bytesSent ?? 0) > 0, 'upload under way');
    await a.cancelUpload(sent.id, started!.fileId);

    expect((await replicaMessages(a)).some((m) => m.id === sent.id)).toBe(false);
    await until(
      a.uploads$(sent.id),
      (f) => f.length === 0 && stack.count('DELETE') === 1,
      'the upload deleted on the server and forgotten',
    );
    // The DELETE is counted as it leaves; the server has deleted the file once it answers.
    await stack.answered('DELETE');
    const res = await api(server, 'GET', `/api/files/${started!.fileId}`, alice.token);
    expect(res.status).toBe(404);
    const patchesAtCancel = stack.count('PATCH');
    await new Promise((r) => setTimeout(r, 300));
    expect(stack.count('PATCH')).toBe(patchesAtCancel);
    expect(pushes.filter((r) => r.id === sent.id)).toHaveLength(0);
  });

  test('two tabs: only the leader uploads; a file sent and cancelled in the follower tab stops there', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const stacks = [new RecordingStack(), new RecordingStack()];
    for (const st of stacks) st.patchDelayMs = 30;
    const tab = (i: number): DeviceOptions => ({
      multiInstance: true,
      ignoreDuplicate: true,
      databaseName: `files-tabs-${alice.id}`,
      files: { upload: { httpStack: stacks[i]!, chunkSize: 64 * 1024 } },
    });
    const t1 = await openDevice(server.url, alice, tab(0));
    await t1.whenLeader();
    const t2 = await openDevice(server.url, alice, tab(1));
    const b = await openDevice(server.url, bob);
    await until(t2.connection$, (s) => s.status === 'online', 't2 connected');
    const conv = await t2.createConversation(bob.id);

    const kept = await t2.sendMessageWithFiles(conv, 'from the follower', [file(bigPdf(256 * 1024), 'kept.pdf', 'application/pdf')]);
    await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.id === kept.id), 'Bob receives the follower tab’s file');

    const dropped = await t2.sendMessageWithFiles(conv, '', [file(bigPdf(1024 * 1024), 'dropped.pdf', 'application/pdf')]);
    const [started] = await uploadsOf(t2, dropped.id, (f) => (f[0]?.bytesSent ?? 0) > 0, 'the follower sees the leader’s progress');
    await t2.cancelUpload(dropped.id, started!.fileId);
    await until(t1.uploads$(dropped.id), (f) => f.length === 0, 'the leader stopped and forgot it');
    expect(stacks[0]!.count('DELETE')).toBe(1);
    expect(stacks[1]!.requests).toHaveLength(0);
    expect(stacks[0]!.count('POST')).toBe(2);
  });

  test("a PDF's preview is its first page from the server, fetched once and shown offline; a PDF without one is asked about once", async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const asked: string[] = [];
    const counting: typeof fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.includes('/thumbnail')) asked.push(url);
      return fetch(input, init);
    };
    const a = await openDevice(server.url, alice);
    const b = await openDevice(server.url, bob, { files: { fetch: counting } });
    const conv = await a.createConversation(bob.id, null, 'Bob');
    await (await a.whenLeader()).awaitInSync();
    const sent = await a.sendMessageWithFiles(conv, 'the report', [
      file(samplePdf({ pages: 3 }), 'report.pdf', 'application/pdf'),
      // The magic numbers, then filler: a PDF pdf.js cannot draw, so the server has no preview.
      file(bigPdf(50 * 1024), 'scan.pdf', 'application/pdf'),
    ]);
    const delivered = await until(b.messages$(conv, 10), (ms) => ms.some((m) => m.id === sent.id), 'Bob receives the PDFs');
    const [report, scan] = delivered.find((m) => m.id === sent.id)!.attachments;

    const thumb = await b.filePreview(sent.id, report!);
    expect(thumb?.type).toBe('image/webp');
    expect(thumb!.size).toBeGreaterThan(0);
    expect(await b.filePreview(sent.id, scan!)).toBeNull();
    expect(asked).toHaveLength(2);

    // Rendered again (a scroll, a re-mount): both answers come from the cache, the 404 included.
    expect((await b.filePreview(sent.id, report!))?.size).toBe(thumb!.size);
    expect(await b.filePreview(sent.id, scan!)).toBeNull();
    expect(asked).toHaveLength(2);

    // Offline: the preview still shows.
    await server.stop();
    try {
      expect((await b.filePreview(sent.id, report!))?.size).toBe(thumb!.size);
      expect(await b.filePreview(sent.id, scan!)).toBeNull();
      expect(asked).toHaveLength(2);
    } finally {
      await server.start();
    }
  });

  test('limits are checked before anything is stored, naming the file', async () => {
    const alice = makeUser('Alice');
    const bob = makeUser('Bob');
    const { a, conv } = await conversationOnline(alice, bob);
    await until(a.connection$, (s) => s.status === 'online', 'online');
    const limits = await a.fileLimits();
    expect(limits.allowedTypes).toContain('application/pdf');
    const refused = a.sendMessageWithFiles(conv, '', [file(new Uint8Array([60, 115, 118, 103]), 'logo.svg', 'image/svg+xml')]);
    await expect(refused).rejects.toBeInstanceOf(FileCheckError);
    await expect(refused).rejects.toMatchObject({ code: 'FILE_TYPE_NOT_ALLOWED', filename: 'logo.svg' });
    expect(await replicaMessages(a)).toHaveLength(0);
  });
});
