import { randomUUID } from 'node:crypto';
import { FILE_ROUTES, type FileInfo } from '@fetchwork/shared-schema';
import * as tus from 'tus-js-client';

export interface UploadRequest {
  bytes: Buffer;
  conversation: string;
  filename: string;
  filetype: string;
  fileId?: string;
  /** Another origin to send through (a proxy that can cut the connection). */
  baseUrl?: string;
  /** Resume this upload instead of creating one. */
  uploadUrl?: string;
  chunkSize?: number;
  retryDelays?: number[];
  onProgress?(sent: number, total: number): void;
  /** Called with the upload once it exists, e.g. to abort it. */
  onStart?(upload: tus.Upload): void;
}

export type UploadOutcome =
  | { ok: true; fileId: string; info: FileInfo | null; uploadUrl: string }
  | { ok: false; fileId: string; status: number; body: any; uploadUrl: string | null };

/** A real tus-js-client upload (the library browsers use) to the test server. */
export function upload(server: { url: string }, token: string, r: UploadRequest): Promise<UploadOutcome> {
  const fileId = r.fileId ?? randomUUID();
  return new Promise((resolve) => {
    const u = new tus.Upload(r.bytes, {
      endpoint: `${r.baseUrl ?? server.url}${FILE_ROUTES.uploads}`,
      uploadUrl: r.uploadUrl ?? null,
      headers: { authorization: `Bearer ${token}` },
      metadata: { fileId, conversation: r.conversation, filename: r.filename, filetype: r.filetype },
      chunkSize: r.chunkSize ?? Number.POSITIVE_INFINITY,
      retryDelays: r.retryDelays ?? [],
      storeFingerprintForResuming: false,
      onProgress: r.onProgress ?? null,
      onSuccess: (payload) => {
        const body = payload.lastResponse.getBody();
        resolve({ ok: true, fileId, info: body ? (JSON.parse(body) as FileInfo) : null, uploadUrl: u.url ?? '' });
      },
      onError: (err) => {
        const res = (err as tus.DetailedError).originalResponse;
        const text = res?.getBody() ?? '';
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // tus's own refusals are plain text.
        }
        resolve({ ok: false, fileId, status: res?.getStatus() ?? 0, body, uploadUrl: u.url });
      },
    });
    r.onStart?.(u);
    u.start();
  });
}

/** A tiny valid PNG (sharp makes it), for thumbnails. */
export async function pngBytes(width = 64, height = 48): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } })
    .png()
    .toBuffer();
}

/** The first bytes of a PDF, enough for magic-number detection. */
export const PDF_BYTES = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
