import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILE_ROUTES } from '@fetchwork/shared-schema';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PDF_RENDER_SIDE, renderPdfFirstPage } from '../../src/files/pdf-preview';
import { canHaveThumbnail, makeThumbnail, THUMBNAIL_MAX_INPUT_BYTES } from '../../src/files/thumbnails';
import { draftMessage } from '../support/docs';
import { samplePdf, stream } from '../support/pdfs';
import { api, push, startTestServer, type TestServer } from '../support/test-server';
import { threeUsers } from '../support/two-users';
import { upload } from '../support/uploads';

/** The RGB of a WebP's pixels. */
async function decode(webp: Buffer) {
  const { data, info } = await sharp(webp).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => {
    const i = (y * info.width + x) * 3;
    return { r: data[i]!, g: data[i + 1]!, b: data[i + 2]! };
  };
  const region = (x0: number, y0: number, x1: number, y1: number) => {
    const out: { r: number; g: number; b: number }[] = [];
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out.push(at(x, y));
    return out;
  };
  return { info, at, region, all: () => region(0, 0, info.width, info.height) };
}

const isRed = (p: { r: number; g: number; b: number }) => p.r > 180 && p.g < 70 && p.b < 90;
const isBlue = (p: { r: number; g: number; b: number }) => p.b > 150 && p.r < 100;

/** A PDF whose opening, page-open and document-level actions are JavaScript that would leave traces if it ran. */
function scriptedPdf(marker: string, port: number): Buffer {
  const js = `var fs = require("fs"); fs.writeFileSync("${marker}", "ran"); app.launchURL("http://127.0.0.1:${port}/ran", true); this.exportDataObject({ cName: "x", nLaunch: 2 });`;
  const action = `<< /S /JavaScript /JS (${js}) >>`;
  return samplePdf({
    catalog: `/OpenAction ${action} /Names << /JavaScript << /Names [(init) ${action}] >> >>`,
    pageExtra: `/AA << /O ${action} >>`,
  });
}

describe('PDF thumbnails: the first page, drawn by pdf.js in a worker', () => {
  it('a 3-page PDF gets a WebP of at most 480 px of its first page: the red rectangle, the title text, nothing of page 2', async () => {
    const thumb = await makeThumbnail(samplePdf({ pages: 3 }), 'application/pdf');
    const img = await decode(thumb);
    expect((await sharp(thumb).metadata()).format).toBe('webp');
    // US Letter at 480 px high: 612/792 × 480 ≈ 371 wide.
    expect(img.info.height).toBe(480);
    expect(img.info.width).toBeGreaterThanOrEqual(370);
    expect(img.info.width).toBeLessThanOrEqual(372);

    // The rectangle (72..540 × 72..492 pt from the top) is red; the margin is white.
    expect(isRed(img.at(185, 170))).toBe(true);
    expect(img.region(60, 60, 310, 280).filter(isRed).length).toBeGreaterThan(0.95 * 250 * 220);
    expect(Math.min(...Object.values(img.at(5, 5)))).toBeGreaterThan(240);
    // The title (Helvetica, not embedded) leaves dark pixels below the rectangle.
    const title = img.region(44, 335, 210, 365);
    expect(Math.min(...title.map((p) => p.r + p.g + p.b))).toBeLessThan(200);
    expect(title.filter((p) => p.r + p.g + p.b < 300).length).toBeGreaterThan(100);
    // Pages 2 and 3 are blue all over: none of it shows.
    expect(img.all().filter(isBlue)).toHaveLength(0);

    const stats = await sharp(thumb).stats();
    expect(stats.isOpaque).toBe(true);
    // Not blank: red dominates the picture's average (a white page would have equal channels).
    const [r, g] = stats.channels;
    expect(r!.mean - g!.mean).toBeGreaterThan(50);
  });

  it('the page is drawn at most 960 px on its longest side, however large or small the page says it is', async () => {
    const huge = await renderPdfFirstPage(samplePdf({ mediaBox: [14_400, 14_400] }));
    expect([huge.width, huge.height]).toEqual([PDF_RENDER_SIDE, PDF_RENDER_SIDE]);
    expect(huge.pixels.length).toBe(PDF_RENDER_SIDE * PDF_RENDER_SIDE * 4);
    const strip = await renderPdfFirstPage(samplePdf({ mediaBox: [14_400, 200] }));
    expect(strip.width).toBe(PDF_RENDER_SIDE);
    expect(strip.height).toBeLessThanOrEqual(14);
    const stamp = await renderPdfFirstPage(samplePdf({ mediaBox: [50, 30] }));
    expect(stamp.width).toBe(PDF_RENDER_SIDE);
    expect(stamp.height).toBe(576);
  });

  it('a PostScript (type 4) function is interpreted, never compiled to JavaScript (isEvalSupported: false)', async () => {
    const pdf = samplePdf({
      extraObjects: [stream('/FunctionType 4 /Domain [0 1] /Range [0 1 0 1 0 1]', '{ pop 0 0.6 0.2 }')],
      resources: '/Shading << /Sh1 << /ShadingType 2 /ColorSpace /DeviceRGB /Coords [0 0 612 0] /Function 4 0 R /Extend [true true] >> >>',
      firstPage: 'q 0 0 612 792 re W n /Sh1 sh Q',
    });
    const page = await renderPdfFirstPage(pdf);
    // The worker refuses (and counts) every attempt to make code from a string.
    expect(page.codegen).toBe(0);
    const middle = ((page.height >> 1) * page.width + (page.width >> 1)) * 4;
    const [r, g, b] = [page.pixels[middle]!, page.pixels[middle + 1]!, page.pixels[middle + 2]!];
    expect(r).toBeLessThan(30);
    expect(Math.abs(g - 153)).toBeLessThan(10);
    expect(Math.abs(b - 51)).toBeLessThan(10);
  });

  it('a render that takes longer than the time limit gives no picture; the next one still works', async () => {
    await expect(renderPdfFirstPage(samplePdf(), { timeoutMs: 1 })).rejects.toThrow(/longer than 1 ms/);
    expect((await renderPdfFirstPage(samplePdf())).width).toBeGreaterThan(0);
  });

  it('at most 2 PDFs are drawn at once and 8 wait; one more gets no preview instead of queueing', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 11 }, () => renderPdfFirstPage(samplePdf({ pages: 1 }))));
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect(String((refused[0] as PromiseRejectedResult).reason)).toMatch(/too many PDFs/);
  });

  it('only verified PDFs and images up to THUMBNAIL_MAX_INPUT_BYTES are thumbnailed', () => {
    expect(canHaveThumbnail('application/pdf', THUMBNAIL_MAX_INPUT_BYTES)).toBe(true);
    expect(canHaveThumbnail('application/pdf', THUMBNAIL_MAX_INPUT_BYTES + 1)).toBe(false);
    expect(canHaveThumbnail('image/png', 1000)).toBe(true);
    expect(canHaveThumbnail('application/zip', 1000)).toBe(false);
    expect(canHaveThumbnail('text/plain', 1000)).toBe(false);
  });
});

describe('PDF thumbnails over the real server: upload → message → preview, never inline', () => {
  let server: TestServer;
  let users: Awaited<ReturnType<typeof threeUsers>>;
  let traces: string;
  let hits: string[];
  let listener: Server;
  let port: number;

  beforeAll(async () => {
    server = await startTestServer();
    users = await threeUsers(server);
    traces = mkdtempSync(join(tmpdir(), 'fw-pdf-js-'));
    hits = [];
    listener = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as AddressInfo).port;
  });
  afterAll(async () => {
    users.close();
    await server.stop();
    await new Promise((resolve) => listener.close(resolve));
    rmSync(traces, { recursive: true, force: true });
  });

  async function send(bytes: Buffer, filename: string) {
    const up = await upload(server, users.a.token, { bytes, conversation: users.conversationId, filename, filetype: 'application/pdf' });
    if (!up.ok) throw new Error(`upload refused: ${JSON.stringify(up.body)}`);
    const message = draftMessage(users.conversationId, users.a.id, users.b.id, '', {
      messageType: 'file',
      attachments: [up.info!.attachment!],
    });
    expect((await push(users.a.socket, { collection: 'messages', rows: [{ newDocumentState: message }] })).rejected).toEqual([]);
    return { up, message };
  }

  const thumbnailOf = (fileId: string, messageId: string, token = users.b.token) =>
    fetch(`${server.url}${FILE_ROUTES.thumbnail(fileId)}?message=${messageId}`, { headers: { authorization: `Bearer ${token}` } });

  it('the recipient fetches the first-page thumbnail; asking to open the PDF inline still downloads it', async () => {
    const { up, message } = await send(samplePdf({ pages: 5 }), 'report.pdf');
    expect(up.info).toMatchObject({ status: 'ready', thumbnail: true, attachment: { mimeType: 'application/pdf' } });

    const res = await thumbnailOf(up.fileId, message.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    const img = await decode(Buffer.from(await res.arrayBuffer()));
    expect(Math.max(img.info.width, img.info.height)).toBeLessThanOrEqual(480);
    expect(isRed(img.at(185, 170))).toBe(true);

    const link = await api(server, 'POST', FILE_ROUTES.link(up.fileId), users.b.token, { message: message.id, disposition: 'inline' });
    expect(link.status).toBe(200);
    const download = await fetch(link.body.url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(download.headers.get('content-type')).toBe('application/pdf');
  });

  it('a malformed PDF (a valid header, a garbage body) is accepted as a file, without a thumbnail', async () => {
    const broken = Buffer.concat([Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), randomBytes(200_000)]);
    const { up, message } = await send(broken, 'broken.pdf');
    expect(up.info).toMatchObject({ status: 'ready', thumbnail: false, attachment: { filename: 'broken.pdf', size: broken.length } });
    expect((await thumbnailOf(up.fileId, message.id)).status).toBe(404);
    expect((await thumbnailOf(up.fileId, message.id, users.a.token)).status).toBe(404);
    const link = await api(server, 'POST', FILE_ROUTES.link(up.fileId), users.b.token, { message: message.id });
    expect(Buffer.from(await (await fetch(link.body.url)).arrayBuffer()).equals(broken)).toBe(true);
  });

  it('a PDF whose actions are JavaScript gets its thumbnail and nothing of the script runs', async () => {
    const marker = join(traces, 'ran');
    const { up, message } = await send(scriptedPdf(marker, port), 'scripted.pdf');
    expect(up.info).toMatchObject({ status: 'ready', thumbnail: true });
    const img = await decode(Buffer.from(await (await thumbnailOf(up.fileId, message.id)).arrayBuffer()));
    expect(isRed(img.at(185, 170))).toBe(true);
    // The script would have written the marker and called the listener.
    expect(existsSync(marker)).toBe(false);
    expect(hits).toEqual([]);
    // The listener does answer: a request that did happen would have been seen.
    await fetch(`http://127.0.0.1:${port}/probe`);
    expect(hits).toEqual(['/probe']);
  });
});
