import type { Virtualizer } from '@tanstack/react-virtual';
import { type KeyboardEvent, type RefObject, useCallback, useEffect, useRef, useState } from 'react';

/**
 * Keyboard navigation through a virtualised list with one tab stop (roving tabindex). The
 * target row may not be in the DOM yet when an arrow key is pressed, so focus is moved after
 * the virtualizer has scrolled it into the rendered range.
 */
export function useRovingFocus(options: {
  count: number;
  virtualizer: Virtualizer<HTMLDivElement, Element>;
  containerRef: RefObject<HTMLElement | null>;
  initialIndex?: number;
}) {
  const { count, virtualizer, containerRef } = options;
  const [active, setActive] = useState(options.initialIndex ?? 0);
  const focusPending = useRef(false);
  const activeIndex = count === 0 ? -1 : Math.min(active, count - 1);

  useEffect(() => {
    if (!focusPending.current || activeIndex < 0) return;
    const frame = requestAnimationFrame(() => {
      const el = containerRef.current?.querySelector<HTMLElement>(`[data-index="${activeIndex}"] [data-roving]`);
      if (el) {
        focusPending.current = false;
        el.focus({ preventScroll: true });
      }
    });
    return () => cancelAnimationFrame(frame);
  });

  const focusIndex = useCallback(
    (index: number, align: 'auto' | 'center' = 'auto') => {
      if (count === 0) return;
      const i = Math.max(0, Math.min(count - 1, index));
      setActive(i);
      focusPending.current = true;
      virtualizer.scrollToIndex(i, { align });
    },
    [count, virtualizer],
  );

  const onKeyDown = useCallback(
    (e: KeyboardEvent) => {
      // Keys typed into a field inside a row (an edit box, a checkbox label) stay with the field.
      const target = e.target as HTMLElement;
      if (target.closest('textarea, input[type="text"], input[type="search"]')) return;
      const page = Math.max(1, Math.floor((containerRef.current?.clientHeight ?? 600) / 72));
      const moves: Record<string, number> = {
        ArrowDown: activeIndex + 1,
        ArrowUp: activeIndex - 1,
        PageDown: activeIndex + page,
        PageUp: activeIndex - page,
        Home: 0,
        End: count - 1,
      };
      const next = moves[e.key];
      if (next === undefined) return;
      e.preventDefault();
      focusIndex(next);
    },
    [activeIndex, count, focusIndex, containerRef],
  );

  return { activeIndex, setActive, focusIndex, onKeyDown };
}
