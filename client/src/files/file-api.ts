import { FILE_ROUTES, type FileInfo, type FileLimits, type FileLink, type FileLinkRequest, isErrorBody } from '@fetchwork/shared-schema';

/** A refused or failed request to the files API, with the server's code when it gave one. */
export class FileApiError extends Error {
  override name = 'FileApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface FileApiOptions {
  serverUrl: string;
  getToken: () => string | null | Promise<string | null>;
  fetch?: typeof fetch;
}

/**
 * The files API besides the tus upload itself: limits, a file's state, previews and signed
 * links. Every request carries the token; files are always addressed by id on this server,
 * never by an attachment's url (a crafted url must not draw the token elsewhere).
 */
export class FileApi {
  readonly uploadsEndpoint: string;
  private readonly base: string;

  constructor(private readonly o: FileApiOptions) {
    this.base = o.serverUrl.replace(/\/+$/, '');
    this.uploadsEndpoint = `${this.base}${FILE_ROUTES.uploads}`;
  }

  async authorization(): Promise<string> {
    return `Bearer ${(await this.o.getToken()) ?? ''}`;
  }

  async limits(): Promise<FileLimits> {
    return (await this.request(FILE_ROUTES.limits)).json() as Promise<FileLimits>;
  }

  async info(fileId: string): Promise<FileInfo> {
    return (await this.request(FILE_ROUTES.info(fileId))).json() as Promise<FileInfo>;
  }

  /** The preview image, or null when the file has none. */
  async thumbnail(fileId: string, messageId: string): Promise<Blob | null> {
    try {
      // Not through the browser's HTTP cache (the server allows a day): the preview is kept in
      // the file queue's database, which signing out deletes; a page cannot empty the HTTP cache.
      const res = await this.request(`${FILE_ROUTES.thumbnail(fileId)}?message=${encodeURIComponent(messageId)}`, { cache: 'no-store' });
      return await res.blob();
    } catch (err) {
      if (err instanceof FileApiError && err.status === 404) return null;
      throw err;
    }
  }

  async link(fileId: string, body: FileLinkRequest): Promise<FileLink> {
    const res = await this.request(FILE_ROUTES.link(fileId), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return res.json() as Promise<FileLink>;
  }

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    const doFetch = this.o.fetch ?? fetch;
    const headers = new Headers(init.headers);
    headers.set('Authorization', await this.authorization());
    const res = await doFetch(`${this.base}${path}`, { ...init, headers });
    if (res.ok) return res;
    throw await apiError(res.status, await res.text().catch(() => ''));
  }
}

/** The server's `{ error: { code, message } }`, or a generic one from the status. */
export async function apiError(status: number, body: string): Promise<FileApiError> {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isErrorBody(parsed)) return new FileApiError(status, parsed.error.code, parsed.error.message);
  } catch {
    // not JSON: fall through
  }
  return new FileApiError(
    status,
    status >= 500 ? 'INTERNAL' : 'UPLOAD_REFUSED',
    `the server answered ${status}${body ? `: ${body.slice(0, 200)}` : ''}`,
  );
}
