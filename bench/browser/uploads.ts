/**
 * Upload throughput in the browser, where users upload from: tus-js-client with the app's
 * options (client/src/files/uploader.ts: its chunk size, its Blob reader, the url kept out of
 * tus's storage) against a raw `fetch` PUT of the same Blob. Both go through Chromium's network
 * stack, CORS preflights included, as the app's requests do.
 */
import { Upload } from 'tus-js-client';
import { blobFileReader } from '../../client/src/files/blob-reader';
import { DEFAULT_UPLOAD_TUNING } from '../../client/src/files/uploader';

let file: Blob | null = null;

/** An MP4 header then random bytes (the same shape as the Node-side file of the scenario). */
export function makeUploadFile(o: { bytes: number }): number {
  const header = new Uint8Array([0, 0, 0, 0x18, ...new TextEncoder().encode('ftypmp42\0\0\0\0mp42isom')]);
  const body = new Uint8Array(o.bytes);
  body.set(header);
  // getRandomValues fills at most 64 KiB per call.
  for (let at = header.length; at < body.length; at += 65_536)
    crypto.getRandomValues(body.subarray(at, Math.min(at + 65_536, body.length)));
  file = new Blob([body], { type: 'video/mp4' });
  return file.size;
}

function theFile(): Blob {
  if (!file) throw new Error('makeUploadFile first');
  return file;
}

/** One upload as the app makes it; answers the time from start to the server's final answer, and the file's status. */
export function tusUpload(o: {
  endpoint: string;
  token: string;
  fileId: string;
  conversation: string;
  /** The app's when absent. */
  chunkSize?: number;
}): Promise<{ ms: number; status: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const upload = new Upload(theFile(), {
      endpoint: o.endpoint,
      metadata: { fileId: o.fileId, conversation: o.conversation, filename: 'deliverable.mp4', filetype: 'video/mp4' },
      chunkSize: o.chunkSize ?? DEFAULT_UPLOAD_TUNING.chunkSize,
      retryDelays: [],
      storeFingerprintForResuming: false,
      fileReader: blobFileReader,
      headers: { authorization: `Bearer ${o.token}` },
      onSuccess: ({ lastResponse }) => {
        const ms = performance.now() - t0;
        resolve({ ms, status: (JSON.parse(lastResponse.getBody() || '{}') as { status?: string }).status ?? '' });
      },
      onError: (err) => reject(new Error(`tus upload failed: ${err.message}`)),
    });
    upload.start();
  });
}

/** The baseline: one PUT of the same Blob, answered once the server has written it. */
export async function rawPut(o: { url: string }): Promise<{ ms: number }> {
  const t0 = performance.now();
  const res = await fetch(o.url, { method: 'PUT', body: theFile(), headers: { 'content-type': 'application/octet-stream' } });
  await res.arrayBuffer();
  if (res.status !== 204) throw new Error(`raw PUT answered ${res.status}`);
  return { ms: performance.now() - t0 };
}
