import { type RefObject, useEffect, useRef } from 'react';

export interface ModalDialogHooks {
  /** Runs each time the dialog opens, before it shows (clear the last answer, the last error). */
  reset?(): void;
  /** What takes the focus once it shows; the browser's default (the first focusable) when absent. */
  focus?(): HTMLElement | null | undefined;
}

/**
 * Keeps a native <dialog> shown as a modal while `open` (the page behind is inert, Escape
 * cancels) and closed otherwise. Returns the ref for the <dialog> element.
 */
export function useModalDialog(open: boolean, hooks: ModalDialogHooks = {}): RefObject<HTMLDialogElement | null> {
  const ref = useRef<HTMLDialogElement>(null);
  // The latest callbacks, without reopening the dialog when they change identity.
  const latest = useRef(hooks);
  latest.current = hooks;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      latest.current.reset?.();
      dialog.showModal();
      latest.current.focus?.()?.focus();
    } else if (!open && dialog.open) {
      dialog.close();
    }
  }, [open]);
  return ref;
}
