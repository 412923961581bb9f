/**
 * A modal dialog on the native <dialog> element (showModal makes the page behind
 * it inert), plus what the native one leaves out:
 * - focus is trapped: Tab and Shift+Tab cycle inside the dialog;
 * - Escape calls `onClose` (unless `dismissible` is false, e.g. while the action
 *   the dialog confirms is running), instead of closing behind Preact's back;
 * - on open, focus goes to the element marked data-autofocus (else the first
 *   focusable one); on close it returns to where it was.
 */
import type { ComponentChildren } from 'preact';
import { useId, useLayoutEffect, useRef } from 'preact/hooks';
import { focusableIn, trapTab } from '../lib/focus-trap.js';

export interface DialogProps {
  open: boolean;
  title: string;
  onClose: () => void;
  dismissible?: boolean;
  children: ComponentChildren;
}

export function Dialog(props: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const dismissible = props.dismissible ?? true;

  // A layout effect, not useEffect: when `open` turns false the <dialog> leaves
  // the DOM in the same commit, and a deferred cleanup would leave focus on
  // <body> for a frame (a keyboard user's next Tab would start from the top).
  useLayoutEffect(() => {
    const dialog = ref.current;
    if (dialog === null || !props.open) return;
    const returnTo = document.activeElement;
    dialog.showModal();
    const target =
      dialog.querySelector<HTMLElement>('[data-autofocus]') ?? focusableIn(dialog)[0] ?? dialog;
    target.focus();
    return () => {
      dialog.close();
      if (returnTo instanceof HTMLElement && returnTo.isConnected) returnTo.focus();
    };
  }, [props.open]);

  if (!props.open) return null;
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby={titleId}
      onCancel={(event) => {
        // Escape: the native dialog would close itself; let the owner decide.
        event.preventDefault();
        if (dismissible) props.onClose();
      }}
      onKeyDown={(event) => {
        if (ref.current !== null) trapTab(event, ref.current);
      }}
    >
      <h2 id={titleId} class="dialog-title">
        {props.title}
      </h2>
      {props.children}
    </dialog>
  );
}
