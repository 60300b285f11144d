/**
 * The first `max` UTF-16 units of `value` (the unit the server's limit counts), one fewer when
 * the cut would fall inside a surrogate pair: an emoji is dropped whole, never split into a
 * lone surrogate that would be stored and shown as garbage.
 */
export function cutToLimit(value: string, max: number): string {
  if (value.length <= max) return value;
  const last = value.charCodeAt(max - 1);
  const splitsPair = last >= 0xd800 && last <= 0xdbff;
  return value.slice(0, splitsPair ? max - 1 : max);
}
