/**
 * A yes/no confirmation in a modal Dialog. The confirm button is guarded against
 * double submission, the dialog cannot be dismissed while its action runs, and
 * a failed action keeps the dialog open with the server's error.
 */
import type { ComponentChildren } from 'preact';
import { useGuardedAction } from '../lib/use-guarded-action.js';
import { Dialog } from './dialog.js';
import { DialogActions } from './dialog-actions.js';
import { ErrorNotice } from './error-notice.js';

export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const action = useGuardedAction(async () => {
    await props.onConfirm();
    props.onClose();
  });
  const close = () => {
    action.clearError();
    props.onClose();
  };
  return (
    <Dialog open={props.open} title={props.title} onClose={close} dismissible={!action.busy}>
      {props.children}
      <ErrorNotice error={action.error} />
      <DialogActions
        busy={action.busy}
        confirmLabel={props.confirmLabel}
        confirmTestId="confirm"
        danger={props.danger === true}
        onCancel={close}
        onConfirm={() => action.run()}
      />
    </Dialog>
  );
}
