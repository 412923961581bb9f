/**
 * A yes/no confirmation in a modal Dialog. The confirm button is guarded against
 * double submission, the dialog cannot be dismissed while its action runs, and
 * a failed action keeps the dialog open with the server's error.
 */
import type { ComponentChildren } from 'preact';
import { useI18n } from '../i18n/i18n-context.js';
import { useGuardedAction } from '../lib/use-guarded-action.js';
import { Dialog } from './dialog.js';
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
  const { t } = useI18n();
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
      <div class="dialog-actions">
        <button type="button" onClick={close} disabled={action.busy} data-autofocus>
          {t('common.cancel')}
        </button>
        <button
          type="button"
          class={props.danger === true ? 'danger' : 'primary'}
          disabled={action.busy}
          data-testid="confirm"
          onClick={() => action.run()}
        >
          {props.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
