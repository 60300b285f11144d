/** Dates and times as people read them in a messenger, in the browser's locale. */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** Whole calendar days between two instants in local time (not 24-hour spans). */
export function calendarDaysBetween(earlier: Date, later: Date): number {
  return Math.round((startOfDay(later) - startOfDay(earlier)) / (24 * HOUR));
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const weekdayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const shortDateFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const longDateFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

/** Compact relative time for the conversation list: "now", "5 min", "14:02", "Yesterday", "Mon", "3 Mar". */
export function relativeTime(iso: string, now: number): string {
  const d = new Date(iso);
  const t = d.getTime();
  if (Number.isNaN(t)) return '';
  const ago = now - t;
  // A client clock slightly ahead of the server still reads as "now", not as the future.
  if (ago < MINUTE) return 'now';
  if (ago < HOUR) return `${Math.floor(ago / MINUTE)} min`;
  const days = calendarDaysBetween(d, new Date(now));
  if (days === 0) return timeFmt.format(d);
  if (days === 1) return 'Yesterday';
  if (days < 7) return weekdayFmt.format(d);
  if (new Date(now).getFullYear() === d.getFullYear()) return shortDateFmt.format(d);
  return longDateFmt.format(d);
}

/** The label of a day separator in a conversation. */
export function dayLabel(iso: string, now: number): string {
  const d = new Date(iso);
  const days = calendarDaysBetween(d, new Date(now));
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return dayFmt.format(d);
}

export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export function timeOfDay(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : timeFmt.format(d);
}

export function fullDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : fullFmt.format(d);
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0]?.[0], parts[parts.length - 1]?.[0]] : [parts[0]?.[0], parts[0]?.[1]];
  return letters.filter(Boolean).join('').toUpperCase() || '?';
}

/** A stable hue per user, so an avatar keeps its colour across sessions and devices. */
export function hueFor(id: string): number {
  // FNV-1a: ids that differ in one character (sequential ObjectIds) still get distant hues.
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h % 360;
}

export function pluralize(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Job ids are ObjectIds; the tail is enough to tell jobs apart in a list. */
export function shortId(id: string): string {
  return id.length > 8 ? `#${id.slice(-6)}` : `#${id}`;
}
