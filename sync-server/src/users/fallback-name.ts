import { fallbackParticipantName, LIMITS } from '@fetchwork/shared-schema';

/** The one formula every client shares (shared-schema names.ts). */
export const fallbackName = fallbackParticipantName;

/** A name as conversations carry it: trimmed, control characters out, within the schema's limit; null when nothing is left. */
export function cleanName(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  const printable = [...raw].filter((ch) => ch >= ' ' && ch !== '\u007f').join('');
  const name = printable.trim().slice(0, LIMITS.nameMaxLength).trim();
  return name.length > 0 ? name : null;
}
