import { THUMBNAIL_TYPES } from '@fetchwork/shared-schema';
import sharp from 'sharp';
import { renderPdfFirstPage } from './pdf-preview';

/** Longest side of a preview, in CSS pixels ×2 for dense screens. */
const THUMBNAIL_SIZE = 480;
/** Larger files are not decoded for a preview (memory: sharp and pdf.js hold the whole input). */
export const THUMBNAIL_MAX_INPUT_BYTES = 40 * 1024 * 1024;

/** `mimeType` is the type verified from the bytes, never the declared one. */
export const canHaveThumbnail = (mimeType: string, size: number) => THUMBNAIL_TYPES.includes(mimeType) && size <= THUMBNAIL_MAX_INPUT_BYTES;

/**
 * A small WebP of an image's first frame, oriented by its EXIF data, or of a PDF's first page;
 * metadata (location, camera) is not copied. sharp's pixel limit refuses decompression bombs.
 * Rejects when there is no picture to make (the file is still a file, just without a preview).
 */
export async function makeThumbnail(bytes: Buffer, mimeType: string): Promise<Buffer> {
  if (mimeType === 'application/pdf') {
    const page = await renderPdfFirstPage(bytes);
    return sharp(page.pixels, { raw: { width: page.width, height: page.height, channels: 4 } })
      .removeAlpha()
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 })
      .toBuffer();
  }
  return sharp(bytes, { limitInputPixels: 100_000_000, failOn: 'error' })
    .rotate()
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75 })
    .toBuffer();
}
