import { DEFAULT_ALLOWED_FILE_TYPES, type FileLimits, LIMITS } from '@fetchwork/shared-schema';

/**
 * Used until the server's limits have been fetched once (a first send while offline). The
 * server checks again; these only have to be no looser than a typical configuration so that a
 * file accepted here is rarely refused there.
 */
export const FALLBACK_FILE_LIMITS: FileLimits = {
  maxFileBytes: 25 * 1024 * 1024,
  maxMessageBytes: 100 * 1024 * 1024,
  maxFilesPerMessage: LIMITS.attachmentsMax,
  allowedTypes: [...DEFAULT_ALLOWED_FILE_TYPES],
  quotaBytes: Number.POSITIVE_INFINITY,
  usedBytes: 0,
};

export type FileCheckCode = 'FILE_TOO_LARGE' | 'FILE_TYPE_NOT_ALLOWED' | 'QUOTA_EXCEEDED' | 'INVALID_INPUT';

/** A file refused before anything was stored; `filename` names it (null: the set as a whole). */
export class FileCheckError extends Error {
  override name = 'FileCheckError';
  constructor(
    readonly code: FileCheckCode,
    message: string,
    readonly filename: string | null,
  ) {
    super(message);
  }
}

/** What the browser reports for a file: a File, or anything shaped like one. */
export interface OutgoingFile extends Blob {
  readonly name: string;
}

/** A file as it will be uploaded: a name the server accepts, a type it can check. */
export interface CheckedFile {
  blob: Blob;
  filename: string;
  type: string;
  size: number;
}

/** Browsers leave `type` empty for many office and text files; the allowed list needs a type. */
const TYPE_BY_EXTENSION: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  pdf: 'application/pdf',
  zip: 'application/zip',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  doc: 'application/msword',
  xls: 'application/vnd.ms-excel',
  txt: 'text/plain',
  csv: 'text/csv',
  md: 'text/markdown',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
};

/** Aliases some systems report for the allowed types. */
const TYPE_ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'application/x-zip-compressed': 'application/zip',
  'application/x-zip': 'application/zip',
  'text/x-markdown': 'text/markdown',
  'audio/mp3': 'audio/mpeg',
};

export function fileTypeOf(file: { name: string; type: string }): string {
  const declared = file.type.split(';')[0]!.trim().toLowerCase();
  if (declared) return TYPE_ALIASES[declared] ?? declared;
  const ext = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase();
  return (ext && TYPE_BY_EXTENSION[ext]) || '';
}

/**
 * A name the upload metadata accepts (no control characters or slashes, at most the limit),
 * keeping the extension: a pasted or synced file may carry any name.
 */
export function safeFilename(name: string, type: string): string {
  let clean = [...name]
    .map((c) => (isForbiddenInName(c) ? '_' : c))
    .join('')
    .trim();
  if (!clean) clean = `file${extensionFor(type)}`;
  if (clean.length <= LIMITS.filenameMaxLength) return clean;
  const ext = /\.[a-z0-9]{1,10}$/i.exec(clean)?.[0] ?? '';
  return clean.slice(0, LIMITS.filenameMaxLength - ext.length) + ext;
}

function isForbiddenInName(c: string): boolean {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f || c === '/' || c === '\\';
}

function extensionFor(type: string): string {
  const ext = Object.entries(TYPE_BY_EXTENSION).find(([, t]) => t === type)?.[0];
  return ext ? `.${ext}` : '';
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'unlimited';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 ? Math.round(value) : Math.round(value * 10) / 10} ${units[unit]}`;
}

/**
 * Checks a message's files against the limits before anything is stored or sent; throws a
 * FileCheckError that names the first file refused. `queuedBytes` are files still waiting to
 * upload (they count against the quota once they arrive).
 */
export function checkFiles(files: readonly OutgoingFile[], limits: FileLimits, queuedBytes = 0): CheckedFile[] {
  const maxCount = Math.min(limits.maxFilesPerMessage, LIMITS.attachmentsMax);
  if (files.length === 0) throw new FileCheckError('INVALID_INPUT', 'no files to send', null);
  if (files.length > maxCount) throw new FileCheckError('INVALID_INPUT', `a message carries at most ${maxCount} files`, null);
  const checked = files.map((file) => {
    const type = fileTypeOf(file);
    const filename = safeFilename(file.name, type);
    if (file.size === 0) throw new FileCheckError('INVALID_INPUT', `${filename} is empty`, filename);
    if (!type || !limits.allowedTypes.includes(type)) {
      throw new FileCheckError('FILE_TYPE_NOT_ALLOWED', `${filename}: files of type ${type || 'unknown'} cannot be sent`, filename);
    }
    if (file.size > limits.maxFileBytes) {
      throw new FileCheckError(
        'FILE_TOO_LARGE',
        `${filename} is ${formatBytes(file.size)}; a file may be at most ${formatBytes(limits.maxFileBytes)}`,
        filename,
      );
    }
    return { blob: file, filename, type, size: file.size };
  });
  const total = checked.reduce((n, f) => n + f.size, 0);
  if (total > limits.maxMessageBytes) {
    throw new FileCheckError(
      'FILE_TOO_LARGE',
      `these files are ${formatBytes(total)} together; a message may carry at most ${formatBytes(limits.maxMessageBytes)}`,
      null,
    );
  }
  const left = limits.quotaBytes - limits.usedBytes - queuedBytes;
  if (total > left) {
    throw new FileCheckError('QUOTA_EXCEEDED', `not enough storage left for these files (${formatBytes(Math.max(0, left))} free)`, null);
  }
  return checked;
}
