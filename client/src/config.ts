/** Where the sync server lives. Production serves the app and the API from different origins. */
export const API_URL: string = (import.meta.env.VITE_API_URL || 'http://localhost:10000').replace(/\/+$/, '');

/**
 * Bytes per tus PATCH. Unset: the whole file in one request, as tus-js-client advises (Chromium
 * spends ~25 ms per request with a Blob slice body, so 8 MiB chunks halved upload throughput; a
 * cut request loses nothing, the server keeps what arrived). Set it only where a proxy in front
 * of the API limits request bodies (docs/operations.md, Files).
 */
export const UPLOAD_CHUNK_BYTES: number | undefined = Number(import.meta.env.VITE_UPLOAD_CHUNK_BYTES) || undefined;
