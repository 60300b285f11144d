import { RETRYABLE_REJECT_CODES } from '@fetchwork/shared-schema';
import { DetailedError } from 'tus-js-client';
import { apiError, FileApiError } from './file-api';
import type { FileFailure } from './file-queue';

/** Statuses that say "not now" rather than "never": a new token, a lock, a rate limit. */
const TRANSIENT_4XX = new Set([401, 408, 409, 423, 429]);

export type UploadErrorKind =
  /** The server refused the file for good (too large, wrong type, infected, …). */
  | { kind: 'refused'; failure: FileFailure }
  /** The server no longer knows the upload (expired, cleaned up): start a new one. */
  | { kind: 'gone' }
  /** Network, server restart, 5xx, token: try again later. */
  | { kind: 'transient'; message: string };

/** Sorts what a tus upload or a files API call ended with. */
export async function classifyUploadError(err: unknown): Promise<UploadErrorKind> {
  if (err instanceof FileApiError) return classify(err);
  if (err instanceof DetailedError && err.originalResponse) {
    const res = err.originalResponse;
    return classify(await apiError(res.getStatus(), res.getBody() ?? ''));
  }
  return { kind: 'transient', message: err instanceof Error ? err.message : String(err) };
}

function classify(e: FileApiError): UploadErrorKind {
  const s = e.status;
  if (s < 400 || s >= 500 || TRANSIENT_4XX.has(s) || (RETRYABLE_REJECT_CODES as readonly string[]).includes(e.code)) {
    return { kind: 'transient', message: e.message };
  }
  // Only a bare 404/410 (tus's own answer for an unknown upload); a refusal carries a code.
  if ((s === 404 || s === 410) && (e.code === 'UPLOAD_REFUSED' || e.code === 'NOT_FOUND')) return { kind: 'gone' };
  return { kind: 'refused', failure: { code: e.code, message: e.message } };
}

/** tus's quick retries: only for what may succeed a moment later. */
export function isTransientTusError(err: DetailedError): boolean {
  const status = err.originalResponse?.getStatus() ?? 0;
  return status === 0 || status >= 500 || TRANSIENT_4XX.has(status);
}
