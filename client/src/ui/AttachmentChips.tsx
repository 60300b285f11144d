import { fileTypeOf, formatBytes } from '../files/file-limits';

interface Props {
  files: readonly File[];
  onRemove: (index: number) => void;
}

/** The files chosen for the next message, each removable (by keyboard too). */
export function AttachmentChips({ files, onRemove }: Props) {
  if (files.length === 0) return null;
  return (
    <ul className="attachment-chips" aria-label="Files to send">
      {files.map((f, i) => (
        <li key={keyOf(f)} className="attachment-chip">
          <span className="attachment-chip-name" title={f.name}>
            {f.name || 'Pasted image'}
          </span>
          <span className="muted">
            {formatBytes(f.size)} · {typeLabel(fileTypeOf(f), f.name)}
          </span>
          <button
            type="button"
            className="btn btn-icon btn-small"
            onClick={() => onRemove(i)}
            aria-label={`Remove ${f.name || 'pasted image'}`}
          >
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}

/** Files have no id; the same File object keeps its key while others are removed around it. */
const keys = new WeakMap<File, string>();
let counter = 0;
function keyOf(f: File): string {
  let key = keys.get(f);
  if (!key) {
    counter += 1;
    key = `file-${counter}`;
    keys.set(f, key);
  }
  return key;
}

/** "PDF", "PNG", … : the extension people know, else the MIME subtype. */
export function typeLabel(mimeType: string, filename: string): string {
  const ext = /\.([a-z0-9]{1,8})$/i.exec(filename)?.[1];
  if (ext) return ext.toUpperCase();
  const sub = mimeType.split('/')[1];
  return sub ? sub.toUpperCase().slice(0, 12) : 'File';
}
