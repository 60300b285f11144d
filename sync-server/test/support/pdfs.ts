/**
 * Real PDFs written by hand for the preview tests: numbered objects with a correct cross-reference
 * table, so pdf.js reads them as valid documents (no reconstruction).
 */

/** A PDF of these object bodies; `objects[0]` is object 1 and must be the catalog. */
export function buildPdf(objects: readonly string[]): Buffer {
  let out = '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

export const stream = (dict: string, content: string) =>
  `<< ${dict} /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`;

/** Page 1's drawing: a red rectangle over the upper half of a US Letter page, a title in Helvetica (not embedded) below it. */
export const RED_PAGE = '0.85 0.1 0.2 rg 72 300 468 420 re f\nBT /F1 36 Tf 0 0 0 rg 72 200 Td (Quarterly report) Tj ET';
/** Every later page: filled blue, so a thumbnail of any page but the first would show blue. */
export const BLUE_PAGE = '0.1 0.2 0.9 rg 0 0 612 792 re f\nBT /F1 24 Tf 1 1 1 rg 72 700 Td (Appendix) Tj ET';

export interface SamplePdfOptions {
  pages?: number;
  /** Inside the catalog dictionary (e.g. an /OpenAction). */
  catalog?: string;
  /** More objects, numbered from 4 on. */
  extraObjects?: readonly string[];
  /** Inside page 1's /Resources, beside the font. */
  resources?: string;
  /** Page 1's content stream (default RED_PAGE). */
  firstPage?: string;
  /** Page 1's size in points (default US Letter). */
  mediaBox?: [number, number];
  /** Inside page 1's dictionary (e.g. an /AA). */
  pageExtra?: string;
}

/** A multi-page PDF: 1 catalog, 2 page tree, 3 font, then the extra objects, then each page and its content. */
export function samplePdf(o: SamplePdfOptions = {}): Buffer {
  const pages = o.pages ?? 3;
  const extra = o.extraObjects ?? [];
  const firstPageId = 4 + extra.length;
  const pageIds = Array.from({ length: pages }, (_, i) => firstPageId + 2 * i);
  const [w, h] = o.mediaBox ?? [612, 792];
  const objects = [
    `<< /Type /Catalog /Pages 2 0 R ${o.catalog ?? ''} >>`,
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages} >>`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    ...extra,
  ];
  pageIds.forEach((id, i) => {
    const first = i === 0;
    const resources = `<< /Font << /F1 3 0 R >> ${first ? (o.resources ?? '') : ''} >>`;
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${first ? `${w} ${h}` : '612 792'}] /Resources ${resources} /Contents ${id + 1} 0 R ${first ? (o.pageExtra ?? '') : ''} >>`,
    );
    objects.push(stream('', first ? (o.firstPage ?? RED_PAGE) : BLUE_PAGE));
  });
  return buildPdf(objects);
}
