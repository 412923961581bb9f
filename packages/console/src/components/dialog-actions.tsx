/**
 * The buttons under a confirmation: Cancel (focused first, so Enter never
 * confirms by accident) and the confirming action, both disabled while it runs.
 */
import { useI18n } from '../i18n/i18n-context.js';

export function DialogActions(props: {
  busy: boolean;
  confirmLabel: string;
  confirmTestId: string;
  danger?: boolean;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  const { t } = useI18n();
  return (
    <div class="dialog-actions">
      <button type="button" onClick={props.onCancel} disabled={props.busy} data-autofocus>
        {t('common.cancel')}
      </button>
      <button
        type="button"
        class={props.danger === true ? 'danger' : 'primary'}
        disabled={props.busy}
        data-testid={props.confirmTestId}
        onClick={props.onConfirm}
      >
        {props.confirmLabel}
      </button>
    </div>
  );
}
