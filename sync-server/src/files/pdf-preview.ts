import { Worker } from 'node:worker_threads';

/** The first page is drawn with its longest side this long, then shrunk to a thumbnail. */
export const PDF_RENDER_SIDE = 960;
/** A PDF that takes longer gets no preview (its worker is terminated). */
export const PDF_RENDER_TIMEOUT_MS = 10_000;
/** Images inside the PDF above this many pixels are left out of the drawing. */
const MAX_IMAGE_PIXELS = 40_000_000;
/** PDFs drawn at once, and waiting: beyond that a PDF gets no preview rather than queueing. */
const MAX_RENDERS = 2;
const MAX_WAITING = 8;

export interface PdfPageImage {
  width: number;
  height: number;
  /** RGBA, opaque (drawn on white). */
  pixels: Uint8Array;
  /** Attempts to compile code from a string while rendering (refused); always 0 unless pdf.js was misconfigured. */
  codegen: number;
}

export class PdfPreviewError extends Error {
  override name = 'PdfPreviewError';
}

let running = 0;
const waiting: Array<() => void> = [];

async function slot(): Promise<() => void> {
  if (running >= MAX_RENDERS) {
    if (waiting.length >= MAX_WAITING) throw new PdfPreviewError('too many PDFs are being previewed; this one gets none');
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
  running++;
  return () => {
    running--;
    waiting.shift()?.();
  };
}

/**
 * Page 1 of a PDF as pixels, drawn by pdf.js in a worker thread of its own: a hostile or broken
 * document cannot block the event loop, read the environment or hold memory past its render; the
 * worker is terminated after `timeoutMs`. Rejects (PdfPreviewError) when there is no picture.
 */
export async function renderPdfFirstPage(pdf: Uint8Array, options: { timeoutMs?: number; maxSide?: number } = {}): Promise<PdfPageImage> {
  const release = await slot();
  try {
    return await renderInWorker(pdf, options.timeoutMs ?? PDF_RENDER_TIMEOUT_MS, options.maxSide ?? PDF_RENDER_SIDE);
  } finally {
    release();
  }
}

function renderInWorker(pdf: Uint8Array, timeoutMs: number, maxSide: number): Promise<PdfPageImage> {
  // A copy of its own, handed over without another copy.
  const data = new Uint8Array(pdf);
  const worker = new Worker(new URL('./pdf-render-worker.mjs', import.meta.url), {
    workerData: { data, maxSide, maxImagePixels: MAX_IMAGE_PIXELS },
    transferList: [data.buffer],
    env: {},
    execArgv: [],
    stdout: true,
    stderr: true,
    resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
  });
  // pdf.js's console warnings are not the server's log.
  worker.stdout.resume();
  worker.stderr.resume();
  return new Promise<PdfPageImage>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(
      () => finish(() => reject(new PdfPreviewError(`rendering the first page took longer than ${timeoutMs} ms`))),
      timeoutMs,
    );
    worker.once(
      'message',
      (m: { ok: true; width: number; height: number; pixels: Uint8Array; codegen: number } | { ok: false; error: string }) =>
        finish(() => {
          if (m.ok) resolve({ width: m.width, height: m.height, pixels: m.pixels, codegen: m.codegen });
          else reject(new PdfPreviewError(`the first page could not be drawn: ${m.error}`));
        }),
    );
    worker.once('error', (err) => finish(() => reject(new PdfPreviewError(`the PDF renderer failed: ${err.message}`))));
    worker.once('exit', (code) => finish(() => reject(new PdfPreviewError(`the PDF renderer stopped (exit ${code})`))));
  });
}
