import { z } from 'zod';
import { LIMITS } from './protocol';
import { conversationIdSchema, messageIdSchema } from './validators';

/**
 * Files in messages (docs/protocol.md "Files"). Bytes never travel in documents or socket
 * frames: a client uploads them with tus to `FILE_ROUTES.uploads`, then sends a message whose
 * `attachments` carry what the server answered for each file (`FileInfo.attachment`). The server
 * accepts the message only when every attachment names a complete, checked file that this sender
 * uploaded into this conversation.
 */

/** A file id: chosen by the client (UUID) so that a message written offline can name its files. */
export const FILE_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const fileIdSchema = z.string().regex(FILE_ID_PATTERN, 'must be a lowercase UUID');

export const FILE_ROUTES = {
  /** tus endpoint (creation, HEAD/PATCH to resume, DELETE to cancel). */
  uploads: '/api/files/uploads',
  limits: '/api/files/limits',
  /** GET: FileInfo; needs the bearer token. */
  info: (fileId: string) => `/api/files/${fileId}`,
  /** GET ?message=<id>: a small WebP preview of an image or a PDF's first page (404 when none); needs the bearer token. */
  thumbnail: (fileId: string) => `/api/files/${fileId}/thumbnail`,
  /** POST FileLinkRequest → FileLink; needs the bearer token. */
  link: (fileId: string) => `/api/files/${fileId}/link`,
} as const;

/** The path of a file's attachment url; the origin is the server's PUBLIC_URL. */
const ATTACHMENT_PATH = /\/api\/files\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * The file id an attachment url names, or null for any other url (a legacy external link, a
 * queued upload's `#pending` url). A client fetches files from its own server by this id, never
 * from the url's origin, so a crafted url cannot draw its token elsewhere.
 */
export function fileIdOfAttachmentUrl(url: string): string | null {
  if (url.includes('#') || url.includes('?')) return null;
  return ATTACHMENT_PATH.exec(url)?.[1] ?? null;
}

/** What a client may say about a file when it creates an upload (tus `Upload-Metadata`). */
export const uploadMetadataSchema = z.strictObject({
  fileId: fileIdSchema,
  conversation: conversationIdSchema,
  filename: z
    .string()
    .min(1)
    .max(LIMITS.filenameMaxLength)
    .refine(
      (n) => ![...n].some((ch) => ch.charCodeAt(0) < 0x20 || ch === '\u007f' || ch === '/' || ch === '\\'),
      'must not contain control characters or slashes',
    ),
  filetype: z.string().min(1).max(LIMITS.mimeTypeMaxLength),
});
export type UploadMetadata = z.infer<typeof uploadMetadataSchema>;

export type FileStatus = 'uploading' | 'ready' | 'rejected' | 'deleted';

/** GET FILE_ROUTES.info */
export interface FileInfo {
  id: string;
  status: FileStatus;
  /** Bytes received so far (uploading) or the file's size. */
  size: number;
  /** Set once ready: exactly what a message's `attachments` entry must hold. */
  attachment: { filename: string; url: string; size: number; mimeType: string } | null;
  /** A preview exists (images, PDFs whose first page could be drawn). */
  thumbnail: boolean;
  /** Why a rejected file was refused. */
  rejection: { code: string; message: string } | null;
}

/** GET FILE_ROUTES.limits: what a client checks before any byte goes out. */
export interface FileLimits {
  maxFileBytes: number;
  maxMessageBytes: number;
  maxFilesPerMessage: number;
  /** MIME types accepted (as verified from the bytes). */
  allowedTypes: string[];
  quotaBytes: number;
  usedBytes: number;
}

export const fileLinkRequestSchema = z.strictObject({
  /** The message the file is attached to (the recipient's right to it comes from that message). */
  message: messageIdSchema.optional(),
  /** `inline` is honoured for image types only; anything else downloads. */
  disposition: z.enum(['attachment', 'inline']).default('attachment'),
});
export type FileLinkRequest = z.input<typeof fileLinkRequestSchema>;

/** A signed, expiring download link: it works without the token, for this user, until `expiresAt`. */
export interface FileLink {
  url: string;
  expiresAt: string;
}

/** The types accepted by default. SVG and HTML are never served (they run script). */
export const DEFAULT_ALLOWED_FILE_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'application/pdf',
  'application/zip',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
  'application/msword',
  'application/vnd.ms-excel',
  'text/plain',
  'text/csv',
  'text/markdown',
  'audio/mpeg',
  'video/mp4',
  'video/quicktime',
] as const;

/** Image types shown inline and given a thumbnail. */
export const PREVIEWABLE_IMAGE_TYPES: readonly string[] = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif'];

/**
 * Types the server may make a thumbnail of (a PDF's is its first page). Only images open inline:
 * a PDF with a thumbnail still downloads.
 */
export const THUMBNAIL_TYPES: readonly string[] = [...PREVIEWABLE_IMAGE_TYPES, 'application/pdf'];
