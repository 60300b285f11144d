/**
 * Scenario — files: (1) upload throughput of one large file (50 MB full, 20 MB quick, 2 MB smoke)
 * on loopback through our sync server — tus-js-client in Node (the library the app uses, its
 * whole file in one PATCH), @tus/server into disk storage in a temp dir, then the real checks the final
 * PATCH waits for (magic-number type check, scanner: none configured, thumbnail: none for a video,
 * record update) — against the baseline in the same run: one raw HTTP PUT of the same bytes to a
 * minimal node:http server that streams the body to a file on the same disk. Both servers live
 * in one child process (lib/files-host.ts), the clients in this one, so client and server never
 * share an event loop and both kinds have the same process layout. Repetitions are interleaved
 * (raw, tus, raw, tus, …) after an unmeasured warm-up of each; each upload's bytes are deleted
 * right after it (so hardly any reach the disk itself: both kinds write into the page cache).
 *
 * (1b) The same upload from Chromium, where users upload from: the bench page
 * (browser/uploads.ts) runs tus-js-client with the app's uploader settings against a `fetch` PUT
 * of the same Blob to the same raw server, interleaved; diagnostic rows repeat both parts with
 * 8 MiB PATCHes (a deployment behind a proxy that limits request bodies).
 *
 * (2) The extra time a message with an image attachment takes to reach the recipient compared
 * with a text message, Node-side, socket to socket (lightweight protocol clients, no replica, no
 * screen): sender uploads a ≈ 200 KB PNG with tus and pushes the message carrying the server's
 * attachment; recipient: until the message arrived on its socket and the thumbnail has been
 * fetched with its token. Text messages the same way, interleaved.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  FILE_ROUTES,
  type FileInfo,
  fileIdOfAttachmentUrl,
  type MessageDoc,
  newMessageDoc,
  newMessageId,
  type Wire,
} from '@fetchwork/shared-schema';
import * as tus from 'tus-js-client';
import { startWorker, type Worker } from '../../chaos/lib/ipc';
import { withBenchPage } from '../lib/browser';
import { draftConversation, newUserId, PAYLOAD_TEXT, tokenFor } from '../lib/docs';
import { OursClient } from '../lib/protocol-clients';
import { type Ctx, ms, num, type Row, ratioOf, type ScenarioResult } from '../lib/report';
import { median } from '../lib/stats';

const MB = 1_000_000;
/** The app's tus chunk size (client/src/files/uploader.ts, DEFAULT_UPLOAD_TUNING.chunkSize: the whole file). */
const APP_CHUNK = Number.POSITIVE_INFINITY;
/** The chunk size of the diagnostic rows: what a deployment behind a proxy limiting bodies would set. */
const PROXY_CHUNK = 8 * 1024 * 1024;

interface Cfg {
  fileBytes: number;
  reps: number;
  /** Also measure tus in 8 MiB PATCHes (a diagnostic of the chunking cost). */
  chunked: boolean;
  messages: number;
}

const config = (mode: Ctx['mode']): Cfg =>
  mode === 'smoke'
    ? { fileBytes: 2 * MB, reps: 2, chunked: false, messages: 3 }
    : mode === 'quick'
      ? { fileBytes: 20 * MB, reps: 7, chunked: true, messages: 10 }
      : { fileBytes: 50 * MB, reps: 15, chunked: true, messages: 30 };

/** The server host of this scenario (BENCH_SERVER_PROF=<dir> CPU-profiles it, as the other hosts). */
function startFilesHost(): Promise<Worker> {
  const dir = process.env.BENCH_SERVER_PROF;
  const prof = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250'] : [];
  return startWorker(fileURLToPath(new URL('../lib/files-host.ts', import.meta.url)), { name: 'files-server', execArgv: prof });
}

interface Cpu {
  user: number;
  system: number;
}
const cpuMs = (a: Cpu, b: Cpu) => (b.user - a.user + b.system - a.system) / 1000;

interface TusTiming {
  ms: number;
  info: FileInfo;
  fileId: string;
}

/** One upload with tus-js-client as the app makes it (Node HTTP stack, Buffer source). */
function tusUpload(
  url: string,
  token: string,
  bytes: Buffer,
  meta: { conversation: string; filename: string; filetype: string },
  chunkSize: number,
): Promise<TusTiming> {
  const fileId = randomUUID();
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const u = new tus.Upload(bytes, {
      endpoint: `${url}${FILE_ROUTES.uploads}`,
      headers: { authorization: `Bearer ${token}` },
      metadata: { fileId, ...meta },
      chunkSize,
      retryDelays: [],
      storeFingerprintForResuming: false,
      onSuccess: (payload) => {
        const elapsed = performance.now() - t0;
        const body = payload.lastResponse.getBody();
        const info = body ? (JSON.parse(body) as FileInfo) : null;
        if (info?.status !== 'ready') reject(new Error(`upload of ${meta.filename} not ready: ${body}`));
        else resolve({ ms: elapsed, info, fileId });
      },
      onError: (err) => {
        const res = (err as tus.DetailedError).originalResponse;
        reject(new Error(`tus upload of ${meta.filename} failed: ${res?.getStatus() ?? ''} ${res?.getBody() ?? err.message}`));
      },
    });
    u.start();
  });
}

/** The baseline: one PUT of the whole buffer, answered once the server has written it to disk. */
function rawPut(url: string, name: string, bytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      `${url}/raw/${name}`,
      { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': bytes.length } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 204 ? resolve(performance.now() - t0) : reject(new Error(`raw PUT answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

/** A ≈ 200 KB PNG larger than the 480 px thumbnail box (sharp makes it; noise does not compress). */
async function photoPng(): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp({
    create: {
      width: 600,
      height: 450,
      channels: 3,
      background: { r: 120, g: 90, b: 200 },
      noise: { type: 'gaussian', mean: 128, sigma: 0.7 },
    },
  })
    .png()
    .toBuffer();
}

type Kind = 'raw' | 'tus' | 'tus8';
interface UploadSample {
  kind: Kind;
  ms: number;
  mbps: number;
  serverCpuMs: number;
  clientCpuMs: number;
  /** Server side: every request from its headers to its answer, summed. */
  serverMs: number;
  /**
   * tus only, server side: the creation POST; in the PATCHes, before their body is read: from the
   * headers to our upload authorization (Express middleware, bearer token, srvx, tus routing), the
   * authorization (file record), from there to the data store's write (tus: lock, upload info
   * from disk, offset checks); writing the bodies; the checks in the last PATCH.
   */
  postMs?: number;
  toHandlerMs?: number;
  authorizeMs?: number;
  tusPrepMs?: number;
  /** Part of tusPrepMs: the data store's getUpload (the upload's .json and two stats). */
  getUploadMs?: number;
  writeMs?: number;
  finishMs?: number;
  patches?: number;
}

interface Span {
  start: number;
  end: number;
}
interface Traced extends Span {
  server: string;
  method: string;
  spans: Partial<Record<'authorize' | 'getUpload' | 'write' | 'finish', Span>>;
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const span = (x?: Span) => (x ? x.end - x.start : 0);
const gap = (from?: number, to?: number) => (from !== undefined && to !== undefined ? to - from : 0);

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const cfg = config(ctx.mode);
  const host = await startFilesHost();
  const a = newUserId('fa');
  const b = newUserId('fb');
  const tokenA = tokenFor(a);
  const tokenB = tokenFor(b);
  const conversation = draftConversation(a, b);
  // Recipient side of part 2: on arrival, fetch each attachment's thumbnail as the app does.
  const arrivals = new Map<string, (at: number, done: number) => void>();
  let base = '';
  const onReceived = (doc: Wire<MessageDoc>, at: number) => {
    const waiter = arrivals.get(doc.id);
    if (!waiter) return;
    const ids = doc.attachments.map((x) => fileIdOfAttachmentUrl(x.url)).filter((id): id is string => id !== null);
    if (ids.length === 0) return waiter(at, performance.now());
    Promise.all(
      ids.map(async (id) => {
        const res = await fetch(`${base}${FILE_ROUTES.thumbnail(id)}?message=${encodeURIComponent(doc.id)}`, {
          headers: { authorization: `Bearer ${tokenB}` },
        });
        const body = await res.arrayBuffer();
        if (res.status !== 200 || res.headers.get('content-type') !== 'image/webp' || body.byteLength === 0)
          throw new Error(`thumbnail answered ${res.status} ${res.headers.get('content-type')}`);
      }),
    ).then(
      () => waiter(at, performance.now()),
      (err) => {
        ctx.log(`  thumbnail fetch failed: ${(err as Error).message}`);
        waiter(at, Number.NaN);
      },
    );
  };
  const sender = new OursClient(a, tokenA, { receipts: true });
  const recipient = new OursClient(b, tokenB, { receipts: true, onReceived });
  const samples: UploadSample[] = [];
  const messages: {
    kind: 'text' | 'image';
    totalMs: number;
    uploadMs: number;
    checksMs: number;
    arrivalMs: number;
    thumbnailMs: number;
  }[] = [];
  let png: Buffer = Buffer.alloc(0);
  let pngThumb = false;
  /** Upload times in Chromium (the app's uploader settings vs a fetch PUT), ms. */
  const browser: Record<Kind, number[]> = { raw: [], tus: [], tus8: [] };
  try {
    const urls = await host.call<{ ours: string; raw: string; dir: string }>('start');
    base = urls.ours;
    ctx.log(`  servers up (files on disk in ${urls.dir})`);
    await Promise.all([sender.connect(urls.ours), recipient.connect(urls.ours)]);
    if ((await sender.push('conversations', [{ newDocumentState: conversation }])) !== 1) throw new Error('conversation not created');

    // ---- 1. upload throughput: tus vs raw PUT, interleaved ----
    // An MP4's header (what a 50 MB deliverable usually is): its type is read from the first
    // bytes and it gets no preview, so the figure is the upload path itself. A PDF would add its
    // first-page render (~0.4 s, pdf-thumbnail.test.ts) to the final PATCH.
    const header = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42\0\0\0\0mp42isom', 'latin1')]);
    const bytes = Buffer.concat([header, randomBytes(cfg.fileBytes - header.length)]);
    const meta = { conversation: conversation.id, filename: 'deliverable.mp4', filetype: 'video/mp4' };
    const kinds: Kind[] = cfg.chunked ? ['raw', 'tus', 'tus8'] : ['raw', 'tus'];
    const once = async (kind: Kind): Promise<UploadSample> => {
      await host.call('trace');
      const s0 = await host.call<Cpu>('cpu');
      const c0 = process.cpuUsage();
      let took: number;
      let forget: { raw?: string; fileId?: string };
      if (kind === 'raw') {
        const name = `f${randomUUID()}`;
        took = await rawPut(urls.raw, name, bytes);
        forget = { raw: name };
      } else {
        const up = await tusUpload(urls.ours, tokenA, bytes, meta, kind === 'tus' ? APP_CHUNK : PROXY_CHUNK);
        if (up.info.attachment?.mimeType !== 'video/mp4') throw new Error(`verified as ${up.info.attachment?.mimeType}`);
        took = up.ms;
        forget = { fileId: up.fileId };
      }
      const clientCpuMs = cpuMs({ user: 0, system: 0 }, process.cpuUsage(c0));
      const serverCpuMs = cpuMs(s0, await host.call<Cpu>('cpu'));
      const trace = await host.call<Traced[]>('trace');
      await host.call('forget', forget);
      const sample: UploadSample = {
        kind,
        ms: took,
        mbps: bytes.length / MB / (took / 1000),
        serverCpuMs,
        clientCpuMs,
        serverMs: sum(trace.map(span)),
      };
      if (kind !== 'raw') {
        const patches = trace.filter((t) => t.method === 'PATCH');
        Object.assign(sample, {
          postMs: sum(trace.filter((t) => t.method === 'POST').map(span)),
          toHandlerMs: sum(patches.map((t) => gap(t.start, t.spans.authorize?.start))),
          authorizeMs: sum(patches.map((t) => span(t.spans.authorize))),
          tusPrepMs: sum(patches.map((t) => gap(t.spans.authorize?.end, t.spans.write?.start))),
          getUploadMs: sum(patches.map((t) => span(t.spans.getUpload))),
          writeMs: sum(patches.map((t) => span(t.spans.write))),
          finishMs: sum(patches.map((t) => span(t.spans.finish))),
          patches: patches.length,
        });
      }
      return sample;
    };
    for (const kind of kinds) await once(kind); // warm-up: JIT, first file, first connection
    for (let i = 0; i < cfg.reps; i++) {
      for (const kind of kinds) {
        const s = await once(kind);
        samples.push(s);
        ctx.log(
          `  ${kind.padEnd(4)} #${i + 1}: ${num(s.mbps)} MB/s (${ms(s.ms)} ms, of which the server answering ${ms(s.serverMs)} ms; server CPU ${ms(s.serverCpuMs)} ms, client CPU ${ms(s.clientCpuMs)} ms` +
            (s.kind === 'raw'
              ? ')'
              : `; server: POST ${ms(s.postMs!)}, ${s.patches} PATCH before body ${ms(s.toHandlerMs!)} + ${ms(s.authorizeMs!)} + ${ms(s.tusPrepMs!)} (getUpload ${ms(s.getUploadMs!)}), body ${ms(s.writeMs!)}, checks ${ms(s.finishMs!)} ms)`),
        );
      }
    }

    // ---- 1b. the same in Chromium, where users upload from ----
    if (!process.env.BENCH_NO_BROWSER) {
      await withBenchPage(ctx.log, async (page) => {
        const bench = (name: string, arg: unknown) => page.evaluate(([n, a]) => (window as any).bench[n](a), [name, arg] as const);
        await bench('makeUploadFile', { bytes: cfg.fileBytes });
        const browserOnce = async (kind: Kind) => {
          let took: number;
          let forget: { raw?: string; fileId?: string };
          if (kind === 'raw') {
            const name = `b${randomUUID()}`;
            took = ((await bench('rawPut', { url: `${urls.raw}/raw/${name}` })) as { ms: number }).ms;
            forget = { raw: name };
          } else {
            const fileId = randomUUID();
            const up = (await bench('tusUpload', {
              endpoint: `${urls.ours}${FILE_ROUTES.uploads}`,
              token: tokenA,
              fileId,
              conversation: conversation.id,
              chunkSize: kind === 'tus' ? APP_CHUNK : PROXY_CHUNK,
            })) as { ms: number; status: string };
            if (up.status !== 'ready') throw new Error(`browser upload ended ${up.status}`);
            took = up.ms;
            forget = { fileId };
          }
          const tr = await host.call<Traced[]>('trace');
          // BENCH_VERBOSE=1: each browser upload's requests as the server saw them.
          if (process.env.BENCH_VERBOSE)
            ctx.log(
              `    ${kind}: ${tr
                .map(
                  (t) =>
                    `${t.method} ${ms(t.start)}–${ms(t.end)} ${Object.entries(t.spans)
                      .map(([k, v]) => `${k} ${ms(v!.start)}–${ms(v!.end)}`)
                      .join(' ')}`,
                )
                .join(' | ')}`,
            );
          await host.call('forget', forget);
          return took;
        };
        for (const kind of kinds) await browserOnce(kind); // warm-up
        for (let i = 0; i < cfg.reps; i++) {
          for (const kind of kinds) {
            const took = await browserOnce(kind);
            browser[kind].push(took);
            ctx.log(`  chromium ${kind.padEnd(4)} #${i + 1}: ${num(cfg.fileBytes / MB / (took / 1000))} MB/s (${ms(took)} ms)`);
          }
        }
      });
    }

    // ---- 2. a message with an image vs a text message, socket to socket ----
    png = await photoPng();
    const arrival = (id: string) =>
      new Promise<{ at: number; done: number }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`message ${id} did not arrive in 30 s`)), 30_000);
        arrivals.set(id, (at, done) => {
          clearTimeout(timer);
          arrivals.delete(id);
          resolve({ at, done });
        });
      });
    const sendOne = async (kind: 'text' | 'image') => {
      await host.call('trace'); // untimed: starts this message's server timeline
      const start = performance.now();
      let attachments: MessageDoc['attachments'] = [];
      let uploadMs = 0;
      if (kind === 'image') {
        const up = await tusUpload(
          urls.ours,
          tokenA,
          png,
          { conversation: conversation.id, filename: 'site photo.png', filetype: 'image/png' },
          APP_CHUNK,
        );
        uploadMs = performance.now() - start;
        pngThumb = up.info.thumbnail;
        attachments = [up.info.attachment!];
      }
      const doc: Wire<MessageDoc> = {
        ...newMessageDoc({
          id: newMessageId(),
          conversation: conversation.id,
          sender: a,
          recipient: b,
          content: kind === 'image' ? 'Photo of the finished wall' : PAYLOAD_TEXT,
          at: new Date().toISOString(),
          messageType: kind === 'image' ? 'file' : 'text',
          attachments,
        }),
        _deleted: false,
      };
      const arrived = arrival(doc.id);
      const pushedAt = performance.now();
      const stored = await sender.push('messages', [{ newDocumentState: doc }]);
      if (stored !== 1) throw new Error(`${kind} message refused: ${JSON.stringify(sender.lastRejection)}`);
      const { at, done } = await arrived;
      if (!Number.isFinite(done)) throw new Error('the thumbnail could not be fetched');
      const checksMs = sum((await host.call<Traced[]>('trace')).map((t) => span(t.spans.finish)));
      return { kind, totalMs: done - start, uploadMs, checksMs, arrivalMs: at - pushedAt, thumbnailMs: done - at };
    };
    for (const kind of ['text', 'image'] as const) await sendOne(kind); // warm-up
    for (let i = 0; i < cfg.messages; i++) {
      for (const kind of ['text', 'image'] as const) messages.push(await sendOne(kind));
    }
  } finally {
    sender.close();
    recipient.close();
    await host.stop();
  }

  // ---- rows ----
  const of = (k: Kind) => samples.filter((s) => s.kind === k);
  const med = (k: Kind, f: (s: UploadSample) => number) => median(of(k).map(f));
  const size = `${num(cfg.fileBytes / MB)} MB`;
  const rawMbps = med('raw', (s) => s.mbps);
  const tusMbps = med('tus', (s) => s.mbps);
  const tus8Mbps = cfg.chunked ? med('tus8', (s) => s.mbps) : Number.NaN;
  const mbOf = cfg.fileBytes / MB;
  const ratio = ratioOf(tusMbps, rawMbps);
  const rows: Row[] = [];
  if (browser.tus.length > 0) {
    const bRaw = cfg.fileBytes / MB / (median(browser.raw) / 1000);
    const bTus = cfg.fileBytes / MB / (median(browser.tus) / 1000);
    const bRatio = ratioOf(bTus, bRaw);
    rows.push({
      scenario: 'files',
      figure: `Upload throughput of a ${size} MP4 from Chromium on loopback (where users upload), median of ${cfg.reps} interleaved: the app's uploader settings (tus-js-client, the whole file in one PATCH, its Blob reader) → @tus/server → disk, including the final PATCH's checks, vs a fetch PUT of the same Blob streamed to a file; CORS preflights as the browser sends them`,
      ours: `${num(bTus)} MB/s (${ms(median(browser.tus))} ms)`,
      baseline: `${num(bRaw)} MB/s (${ms(median(browser.raw))} ms)`,
      ratio: bRatio,
      target: '≥ 0.7×',
      met: bRatio !== null && bRatio >= 0.7,
    });
    if (browser.tus8.length > 0) {
      const bTus8 = cfg.fileBytes / MB / (median(browser.tus8) / 1000);
      rows.push({
        scenario: 'files',
        figure: `Upload throughput of ${size} from Chromium, tus in 8 MiB PATCHes (as behind a proxy limiting request bodies; diagnostic: Chromium's cost per request) vs the fetch PUT`,
        ours: `${num(bTus8)} MB/s (${ms(median(browser.tus8))} ms)`,
        baseline: `${num(bRaw)} MB/s`,
        ratio: ratioOf(bTus8, bRaw),
        target: '',
        met: null,
        detail: true,
      });
    }
  }
  rows.push(
    {
      scenario: 'files',
      figure: `Upload throughput of a ${size} MP4 on loopback from Node, median of ${cfg.reps} interleaved: tus-js-client (the whole file in one PATCH, as the app) → @tus/server → disk, including the final PATCH's server checks (type check, scan: none configured, no preview for video), vs raw HTTP PUT streamed to a file`,
      ours: `${num(tusMbps)} MB/s (${ms(med('tus', (s) => s.ms))} ms)`,
      baseline: `${num(rawMbps)} MB/s (${ms(med('raw', (s) => s.ms))} ms)`,
      ratio,
      target: '≥ 0.7×',
      met: ratio !== null && ratio >= 0.7,
    },
    {
      scenario: 'files',
      figure: `tus upload of ${size}, where the time goes (medians, ms): creation POST · in the PATCHes before the body is read: headers → our handler (Express middleware, token, srvx, tus routing) + upload authorization + tus (lock, getUpload: the upload's .json and stats, offset) · writing the bodies · checks in the last PATCH · client and wire outside the server's answers`,
      ours: `${ms(med('tus', (s) => s.postMs!))} · ${ms(med('tus', (s) => s.toHandlerMs!))} + ${ms(med('tus', (s) => s.authorizeMs!))} + ${ms(med('tus', (s) => s.tusPrepMs!))} (getUpload ${ms(med('tus', (s) => s.getUploadMs!))}; ${of('tus')[0]?.patches ?? '?'} PATCHes) · ${ms(med('tus', (s) => s.writeMs!))} · ${ms(med('tus', (s) => s.finishMs!))} · ${ms(med('tus', (s) => s.ms - s.serverMs))}`,
      baseline: `raw PUT: server ${ms(med('raw', (s) => s.serverMs))} ms · outside ${ms(med('raw', (s) => s.ms - s.serverMs))} ms`,
      ratio: ratioOf(
        med('tus', (s) => s.writeMs!),
        med('raw', (s) => s.serverMs),
      ),
      target: '',
      met: null,
      detail: true,
    },
    {
      scenario: 'files',
      figure: `Server CPU per MB uploaded (tus, one PATCH, vs raw PUT), ${size}`,
      ours: `${num(med('tus', (s) => s.serverCpuMs) / mbOf, 2)} ms/MB (client ${num(med('tus', (s) => s.clientCpuMs) / mbOf, 2)} ms/MB)`,
      baseline: `${num(med('raw', (s) => s.serverCpuMs) / mbOf, 2)} ms/MB (client ${num(med('raw', (s) => s.clientCpuMs) / mbOf, 2)} ms/MB)`,
      ratio: ratioOf(
        med('tus', (s) => s.serverCpuMs),
        med('raw', (s) => s.serverCpuMs),
      ),
      target: '',
      met: null,
      detail: true,
    },
  );
  if (cfg.chunked) {
    rows.push({
      scenario: 'files',
      figure: `Upload throughput of ${size} from Node, tus in 8 MiB PATCHes (as behind a proxy limiting request bodies; diagnostic of the chunking cost) vs raw PUT`,
      ours: `${num(tus8Mbps)} MB/s (server checks ${ms(med('tus8', (s) => s.finishMs!))} ms)`,
      baseline: `${num(rawMbps)} MB/s`,
      ratio: ratioOf(tus8Mbps, rawMbps),
      target: '',
      met: null,
      detail: true,
    });
  }
  const msg = (k: 'text' | 'image', f: (m: (typeof messages)[number]) => number) => median(messages.filter((m) => m.kind === k).map(f));
  const textMs = msg('text', (m) => m.totalMs);
  const imageMs = msg('image', (m) => m.totalMs);
  rows.push(
    {
      scenario: 'files',
      figure: `Message with a ${num(png.length / 1024)} KB PNG vs a text message, send → on the recipient's socket with its thumbnail fetched (Node-side, socket to socket, not on screen), median of ${cfg.messages} each, interleaved; extra = difference`,
      ours: `${ms(imageMs)} ms (extra ${ms(imageMs - textMs)} ms)`,
      baseline: `${ms(textMs)} ms`,
      ratio: ratioOf(imageMs, textMs),
      target: '',
      met: null,
    },
    {
      scenario: 'files',
      figure:
        'Image message, where the time goes (medians): tus upload (of which the server checks with the thumbnail in the final PATCH) · push → arrival · arrival → thumbnail fetched',
      ours: `${ms(msg('image', (m) => m.uploadMs))} (${ms(msg('image', (m) => m.checksMs))}) · ${ms(msg('image', (m) => m.arrivalMs))} · ${ms(msg('image', (m) => m.thumbnailMs))} ms`,
      baseline: `text push → arrival ${ms(msg('text', (m) => m.arrivalMs))} ms`,
      ratio: ratioOf(
        msg('image', (m) => m.arrivalMs),
        msg('text', (m) => m.arrivalMs),
      ),
      target: '',
      met: null,
      detail: true,
    },
  );
  return {
    scenario: 'files',
    rows,
    details: { config: cfg, uploads: samples, browserUploads: browser, messages, pngBytes: png.length, pngThumbnail: pngThumb },
    notes: [
      `Upload: one host process holds both servers on one temp dir; the clients run in the scenario process. The tus time runs from Upload.start() to onSuccess, so it includes the creation POST and the final PATCH's wait for the server's checks (what a user waits for before the file can be sent); the raw PUT is answered once the body is written. MB = 10^6 bytes; each upload's bytes are deleted after it, untimed. The per-user quota is raised to 1 TiB for the repetitions; every other limit is the default.`,
      'Image vs text: Node-side (lightweight socket clients, no replica, no rendering), not on screen. The image message counts from the start of its upload (as a user sends it) to the recipient having the message and its thumbnail; the text message from its push to its arrival.',
    ],
    durationMs: performance.now() - t0,
  };
}
