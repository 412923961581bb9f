/**
 * Re-key data (POST /v1/rotation/data): after a suspected compromise of data
 * keys, every scope gets a new data key, every secret and registered field row
 * is re-encrypted, and the old data keys are destroyed. A confirmation dialog
 * names what will happen, with the store's counts; its confirm button is
 * guarded, so a double click starts one re-key. While it runs the dialog shows
 * progress and cannot be dismissed; then the result, or the API's error, shows.
 */
import { useState } from 'preact/hooks';
import { useApi } from '../api/api-context.js';
import type { DataRekeyResult, KeyStatus } from '../api/api-types.js';
import { useI18n } from '../i18n/i18n-context.js';
import { useGuardedAction } from '../lib/use-guarded-action.js';
import { useLiveJob } from '../lib/use-live-job.js';
import { Dialog } from './dialog.js';
import { DialogActions } from './dialog-actions.js';
import { ErrorNotice } from './error-notice.js';
import { Notice } from './notice.js';
import { RotationProgress } from './rotation-progress.js';

export function RekeyData(props: { keys: KeyStatus | null; onDone: () => void }) {
  const { t, formatNumber, formatTime } = useI18n();
  const api = useApi();
  const [confirming, setConfirming] = useState(false);
  const [result, setResult] = useState<DataRekeyResult | null>(null);
  const rekey = useGuardedAction(async () => {
    setResult(null);
    try {
      setResult(await api.rekeyData());
    } finally {
      setConfirming(false);
      props.onDone();
    }
  });
  const live = useLiveJob(api, rekey.busy);
  const count = (n: number | undefined) => (n === undefined ? '?' : formatNumber(n));
  const census = props.keys?.census;
  const fieldRows = census?.fields.reduce((sum, field) => sum + field.rows, 0);

  return (
    <>
      <section class="card" aria-labelledby="rekey-title">
        <h2 id="rekey-title">{t('rekey.title')}</h2>
        <p>{t('rekey.intro')}</p>
        <ErrorNotice error={rekey.error} testId="rekey-error" />
        <button
          type="button"
          class="primary"
          disabled={rekey.busy}
          data-testid="rekey"
          onClick={() => {
            rekey.clearError();
            setConfirming(true);
          }}
        >
          {t('rekey.review')}
        </button>
      </section>

      {result === null ? null : (
        <Notice tone="success" title={t('rekey.doneTitle')} testId="rekey-done">
          <p>
            {t('rekey.doneSummary', {
              scopes: formatNumber(result.scopes),
              created: formatNumber(result.dataKeys.created),
              secrets: formatNumber(result.secrets),
              rows: formatNumber(result.rows),
              destroyed: formatNumber(result.dataKeys.destroyed),
            })}
          </p>
          {result.dataKeys.deferred > 0 ? (
            <p>
              {t('rekey.deferred', {
                count: formatNumber(result.dataKeys.deferred),
                until: formatTime(result.deferredUntil),
              })}
            </p>
          ) : null}
          <p class="muted">
            {t(result.mode === 'atomic' ? 'rotation.modeAtomic' : 'rotation.modeOnline')} ·{' '}
            {t('keys.duration', { ms: formatNumber(result.durationMs) })}
          </p>
        </Notice>
      )}

      <Dialog
        open={confirming}
        title={t('rekey.confirmTitle')}
        onClose={() => setConfirming(false)}
        dismissible={!rekey.busy}
      >
        <p>{t('keys.confirmLead')}</p>
        <ol class="steps" data-testid="rekey-steps">
          <li>
            {t('rekey.confirmNewKeys', {
              scopes: count(props.keys?.totals.scopes),
              dataKeys: count(census?.dataKeys.active),
            })}
          </li>
          <li>
            {t('rekey.confirmReencrypt', {
              secrets: count(props.keys?.totals.secrets),
              rows: count(fieldRows),
            })}
          </li>
          <li>{t('rekey.confirmDestroy')}</li>
          <li>{t('rekey.confirmFieldGrace')}</li>
          <li>{t('rekey.confirmBackups')}</li>
        </ol>
        {rekey.busy ? (
          <div aria-live="polite">
            <p>{t('rekey.running')}</p>
            {live === null ? <progress /> : <RotationProgress job={live} />}
          </div>
        ) : null}
        <DialogActions
          busy={rekey.busy}
          confirmLabel={t('rekey.confirm')}
          confirmTestId="confirm-rekey"
          danger
          onCancel={() => setConfirming(false)}
          onConfirm={() => rekey.run()}
        />
      </Dialog>
    </>
  );
}
