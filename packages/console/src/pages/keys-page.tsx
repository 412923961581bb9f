/**
 * Keys: an interrupted rotation job to resume or abandon (interrupted-job.tsx),
 * the master key rotation below, a data re-key (rekey-data.tsx) and the
 * recovery key (recovery-key.tsx).
 *
 * Rotating the master key: The operator enters the old and the new key; a
 * confirmation dialog says what will happen; the confirm button is guarded, so
 * a double click starts one rotation. While it runs the dialog shows progress
 * (polled from GET /v1/rotation) and cannot be dismissed; then the result — or
 * the API's error message (a wrong old key, say) — shows on the page.
 *
 * The keys live only in this form's state: they are sent once, in the body of
 * the rotation request, and the fields are cleared when the rotation succeeds.
 */
import { useState } from 'preact/hooks';
import { useApi } from '../api/api-context.js';
import type { MasterRotationResult } from '../api/api-types.js';
import { Dialog } from '../components/dialog.js';
import { DialogActions } from '../components/dialog-actions.js';
import { ErrorNotice } from '../components/error-notice.js';
import { InterruptedJob } from '../components/interrupted-job.js';
import { Notice } from '../components/notice.js';
import { RecoveryKey } from '../components/recovery-key.js';
import { RekeyData } from '../components/rekey-data.js';
import { RotationProgress } from '../components/rotation-progress.js';
import { TextField } from '../components/text-field.js';
import { useI18n } from '../i18n/i18n-context.js';
import type { MessageKey } from '../i18n/messages.js';
import { useGuardedAction } from '../lib/use-guarded-action.js';
import { useLiveJob } from '../lib/use-live-job.js';
import { useResource } from '../lib/use-resource.js';

export function KeysPage() {
  const { t, formatNumber } = useI18n();
  const api = useApi();
  const keys = useResource(() => api.keys(), [api]);
  const rotation = useResource(() => api.rotation(), [api]);
  const [oldKey, setOldKey] = useState('');
  const [newKey, setNewKey] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [formError, setFormError] = useState<MessageKey | null>(null);
  const [result, setResult] = useState<MasterRotationResult | null>(null);

  const rotate = useGuardedAction(async () => {
    setResult(null);
    try {
      setResult(await api.rotateMaster(oldKey.trim(), newKey.trim()));
      setOldKey('');
      setNewKey('');
    } finally {
      setConfirming(false);
      keys.reload();
      rotation.reload();
    }
  });

  const live = useLiveJob(api, rotate.busy);

  const review = (event: Event) => {
    event.preventDefault();
    rotate.clearError();
    if (oldKey.trim() === '' || newKey.trim() === '') setFormError('keys.bothRequired');
    else if (oldKey.trim() === newKey.trim()) setFormError('keys.sameKey');
    else {
      setFormError(null);
      setConfirming(true);
    }
  };

  const primary = keys.data?.primary ?? '—';
  const dataKeys = keys.data?.needed.find((n) => n.fingerprint === keys.data?.primary)?.dataKeys;
  const latest = rotation.data?.unfinished ?? rotation.data?.recent[0];
  // Unfinished with no live lock holder: nothing is working on it.
  const interrupted =
    rotation.data?.unfinished != null && rotation.data.lock?.live !== true
      ? rotation.data.unfinished
      : null;
  const reload = () => {
    keys.reload();
    rotation.reload();
  };

  return (
    <>
      <p class="lead">{t('keys.intro')}</p>
      <ErrorNotice error={keys.error} />
      <InterruptedJob job={interrupted} onChanged={reload} />
      <form class="card" aria-labelledby="rotate-title" onSubmit={review}>
        <h2 id="rotate-title">{t('keys.rotateTitle')}</h2>
        <p>
          {t('keys.currentPrimary')} <code data-testid="primary-fingerprint">{primary}</code>
        </p>
        <TextField
          label={t('keys.oldKey')}
          hint={t('keys.oldKeyHint')}
          type="password"
          value={oldKey}
          onInput={setOldKey}
          required
          testId="old-key"
        />
        <TextField
          label={t('keys.newKey')}
          hint={t('keys.newKeyHint')}
          type="password"
          value={newKey}
          onInput={setNewKey}
          required
          testId="new-key"
        />
        {formError === null ? null : (
          <p class="field-error" role="alert">
            {t(formError)}
          </p>
        )}
        <ErrorNotice error={rotate.error} testId="rotate-error" />
        <button type="submit" class="primary" disabled={rotate.busy} data-testid="rotate">
          {t('keys.review')}
        </button>
      </form>

      {result === null ? null : (
        <Notice tone="success" title={t('keys.doneTitle')} testId="rotate-done">
          <p>
            {t('keys.doneSummary', {
              from: result.from,
              to: result.to,
              rewrapped: formatNumber(result.dataKeys.rewrapped),
            })}
          </p>
          <p class="muted">
            {t(result.mode === 'atomic' ? 'rotation.modeAtomic' : 'rotation.modeOnline')} ·{' '}
            {t('keys.duration', { ms: formatNumber(result.durationMs) })}
          </p>
          {result.dataKeys.remaining > 0 ? (
            <p>{t('keys.remaining', { count: formatNumber(result.dataKeys.remaining) })}</p>
          ) : null}
          <p>{t('keys.doneNext')}</p>
        </Notice>
      )}

      <section class="card" aria-labelledby="last-rotation-title">
        <h2 id="last-rotation-title">{t('keys.lastRotation')}</h2>
        <ErrorNotice error={rotation.error} />
        {latest === undefined ? (
          <p class="muted">{t('keys.noRotation')}</p>
        ) : (
          <RotationProgress job={latest} />
        )}
      </section>

      <RekeyData keys={keys.data} onDone={reload} />
      <RecoveryKey onChanged={reload} />

      <Dialog
        open={confirming}
        title={t('keys.confirmTitle')}
        onClose={() => setConfirming(false)}
        dismissible={!rotate.busy}
      >
        <p>{t('keys.confirmLead')}</p>
        <ol class="steps">
          <li>{t('keys.confirmProve', { fingerprint: primary })}</li>
          <li>
            {t('keys.confirmRewrap', {
              count: dataKeys === undefined ? '?' : formatNumber(dataKeys),
            })}
          </li>
          <li>{t('keys.confirmPrimary')}</li>
          <li>{t('keys.confirmKeep')}</li>
        </ol>
        {rotate.busy ? (
          <div aria-live="polite">
            <p>{t('keys.running')}</p>
            {live === null ? <progress /> : <RotationProgress job={live} />}
          </div>
        ) : null}
        <DialogActions
          busy={rotate.busy}
          confirmLabel={t('keys.confirm')}
          confirmTestId="confirm-rotate"
          danger
          onCancel={() => setConfirming(false)}
          onConfirm={() => rotate.run()}
        />
      </Dialog>
    </>
  );
}
