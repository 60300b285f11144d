import { defaultOptions, type FileReader } from 'tus-js-client';

/**
 * tus-js-client's own reader, and, where it cannot read a Blob (its Node build takes Buffers and
 * streams only), one that hands it each chunk's bytes: queued files come back from IndexedDB as
 * Blobs in every environment. A chunk is read only when tus asks for it.
 */
export const blobFileReader: FileReader = {
  async openFile(input: unknown, chunkSize: number) {
    try {
      return await defaultOptions.fileReader.openFile(input, chunkSize);
    } catch (err) {
      if (!(input instanceof Blob)) throw err;
      return blobSource(input);
    }
  },
};

function blobSource(blob: Blob) {
  return {
    size: blob.size,
    async slice(start: number, end: number) {
      const value = new Uint8Array(await blob.slice(start, end).arrayBuffer());
      // Node's http stack sets Content-Length from `size` (as for its own Buffer source).
      Object.defineProperty(value, 'size', { value: value.length });
      return { value, done: end >= blob.size };
    },
    close() {},
  };
}
