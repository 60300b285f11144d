import { PREVIEWABLE_IMAGE_TYPES } from '@fetchwork/shared-schema';
import sharp from 'sharp';

/** Longest side of a preview, in CSS pixels ×2 for dense screens. */
const THUMBNAIL_SIZE = 480;
/** Larger images are not decoded for a preview (memory: sharp holds the whole input). */
export const THUMBNAIL_MAX_INPUT_BYTES = 40 * 1024 * 1024;

export const canHaveThumbnail = (mimeType: string, size: number) =>
  PREVIEWABLE_IMAGE_TYPES.includes(mimeType) && size <= THUMBNAIL_MAX_INPUT_BYTES;

/**
 * A small WebP of an image's first frame, oriented by its EXIF data; metadata (location, camera)
 * is not copied. sharp's pixel limit refuses decompression bombs.
 */
export async function makeThumbnail(image: Buffer): Promise<Buffer> {
  return sharp(image, { limitInputPixels: 100_000_000, failOn: 'error' })
    .rotate()
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75 })
    .toBuffer();
}
