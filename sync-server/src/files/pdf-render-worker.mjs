/**
 * Renders page 1 of a PDF to RGBA pixels, in a worker thread of its own (started by
 * pdf-preview.ts for one document, then ended). A PDF is hostile input: pdf.js parses it here,
 * away from the server's event loop and heap, and the thread is terminated when it takes too long.
 * Plain JavaScript so that Node runs it as is (a worker is not compiled by tsx or vitest).
 *
 * workerData: { data: Uint8Array, maxSide: number, maxImagePixels: number }
 * Answers one message: { ok: true, width, height, pixels: Uint8Array (RGBA), codegen } or { ok: false, error }.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

// Nothing in this thread may compile code from a string or reach the network. pdf.js is told
// so (isEvalSupported: false; resources come from its package on disk); these guards make sure.
let codegen = 0;
const refuse = () => {
  codegen++;
  throw new EvalError('code generation from strings is disabled while rendering a PDF');
};
globalThis.Function = new Proxy(Function, { construct: refuse, apply: refuse });
globalThis.eval = refuse;
globalThis.fetch = async () => {
  throw new TypeError('no network while rendering a PDF');
};

const require = createRequire(import.meta.url);
const pdfjsRoot = dirname(require.resolve('pdfjs-dist/package.json'));
const local = (dir) => `${join(pdfjsRoot, dir)}/`;

async function render({ data, maxSide, maxImagePixels }) {
  const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const { createCanvas } = await import('@napi-rs/canvas');
  const task = getDocument({
    data,
    isEvalSupported: false,
    enableXfa: false,
    // Glyphs are drawn as paths (no font-face). Fonts the PDF does not embed come from pdf.js's
    // own files (the standard 14), else the canvas's fallback font: local files, never fetched.
    disableFontFace: true,
    useSystemFonts: false,
    useWorkerFetch: false,
    standardFontDataUrl: local('standard_fonts'),
    cMapUrl: local('cmaps'),
    cMapPacked: true,
    wasmUrl: local('wasm'),
    iccUrl: local('iccs'),
    maxImageSize: maxImagePixels,
    verbosity: 0,
  });
  try {
    const doc = await task.promise;
    const page = await doc.getPage(1);
    const natural = page.getViewport({ scale: 1 });
    const scale = maxSide / Math.max(natural.width, natural.height, 1);
    const viewport = page.getViewport({ scale });
    const width = Math.max(1, Math.min(maxSide, Math.round(viewport.width)));
    const height = Math.max(1, Math.min(maxSide, Math.round(viewport.height)));
    const canvas = createCanvas(width, height);
    const context = canvas.getContext('2d');
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, width, height);
    await page.render({ canvas, canvasContext: context, viewport }).promise;
    const pixels = context.getImageData(0, 0, width, height).data;
    return { width, height, pixels: new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength) };
  } finally {
    await task.destroy();
  }
}

try {
  const { width, height, pixels } = await render(workerData);
  parentPort.postMessage({ ok: true, width, height, pixels, codegen }, [pixels.buffer]);
} catch (err) {
  parentPort.postMessage({ ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), codegen });
}
