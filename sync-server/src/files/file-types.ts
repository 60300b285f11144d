import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { fileTypeFromStream } from 'file-type';

/** Types without a magic number: accepted only when the bytes are UTF-8 text. */
const TEXT_TYPES = new Set(['text/plain', 'text/csv', 'text/markdown']);

/** Names browsers and systems use for the same type as file-type reports. */
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'application/x-zip-compressed': 'application/zip',
  'text/x-markdown': 'text/markdown',
  'audio/mp3': 'audio/mpeg',
  'application/x-cfb': 'application/msword',
};

/** Container formats file-type may report as their container when it cannot see inside. */
const ZIP_BASED = /^application\/vnd\.(openxmlformats|oasis)/;
const CFB_BASED = new Set(['application/msword', 'application/vnd.ms-excel', 'application/vnd.ms-powerpoint']);

const canonical = (type: string) => {
  const t = type.toLowerCase().split(';')[0]!.trim();
  return ALIASES[t] ?? t;
};

export type TypeVerdict =
  | { ok: true; mimeType: string }
  | { ok: false; code: 'FILE_TYPE_NOT_ALLOWED' | 'FILE_TYPE_MISMATCH'; message: string };

/**
 * The type of a file as its bytes show it (magic numbers, via file-type), checked against the
 * allowed list and against what the uploader declared. Unknown declarations ('' or
 * application/octet-stream, what browsers send for an unknown extension) take the detected type.
 */
export async function verifyFileType(
  bytes: () => Promise<Readable>,
  head: Buffer,
  declaredType: string,
  allowed: ReadonlySet<string>,
): Promise<TypeVerdict> {
  const stream = await bytes();
  let detected: string | undefined;
  try {
    detected = (await fileTypeFromStream(Readable.toWeb(stream) as ReadableStream<Uint8Array>))?.mime;
  } finally {
    stream.destroy();
  }
  const declared = canonical(declaredType);
  const unknownDeclared = declared === '' || declared === 'application/octet-stream';
  let actual: string;
  if (detected) actual = canonical(detected);
  else if (looksLikeText(head)) actual = TEXT_TYPES.has(declared) ? declared : 'text/plain';
  else actual = 'application/octet-stream';

  const containerOfDeclared =
    (actual === 'application/zip' && ZIP_BASED.test(declared)) || (actual === 'application/x-cfb' && CFB_BASED.has(declared));
  if (!allowed.has(actual) && !containerOfDeclared) {
    return { ok: false, code: 'FILE_TYPE_NOT_ALLOWED', message: `files of type ${actual} are not accepted` };
  }
  if (!unknownDeclared && declared !== actual && !containerOfDeclared) {
    return { ok: false, code: 'FILE_TYPE_MISMATCH', message: `declared as ${declared}, but its bytes are ${actual}` };
  }
  // A document whose inside file-type could not read is kept as the declared office type only
  // when that type is allowed; it is served as a download either way.
  return { ok: true, mimeType: containerOfDeclared && allowed.has(declared) ? declared : actual };
}

/** UTF-8 without NUL bytes; a multi-byte character cut at the end of the head does not count against it. */
function looksLikeText(head: Buffer): boolean {
  if (head.includes(0)) return false;
  for (let cut = 0; cut < 4 && cut <= head.length; cut++) {
    if (isUtf8(head.subarray(0, head.length - cut))) return true;
  }
  return false;
}

/** Whether a declared type is on the allowed list (checked before any byte is stored). */
export function isAllowedDeclaredType(declaredType: string, allowed: ReadonlySet<string>): boolean {
  const t = canonical(declaredType);
  return t === '' || t === 'application/octet-stream' || allowed.has(t);
}
