/**
 * An interrupted rotation job (unfinished, and no live process holds the
 * rotation lock): its state and progress, and the two ways out — Resume
 * (POST /v1/rotation/resume: a master job with the keys in the server's keyring)
 * or Abandon (POST /v1/rotation/abandon, after a confirmation saying why it is
 * safe). Both buttons are guarded against double submission. While the job
 * waits, other rotations are refused (ROTATION_IN_PROGRESS).
 */
import { useState } from 'preact/hooks';
import { useApi } from '../api/api-context.js';
import type { DataRekeyResult, MasterRotationResult, RotationJob } from '../api/api-types.js';
import { useI18n } from '../i18n/i18n-context.js';
import { useGuardedAction } from '../lib/use-guarded-action.js';
import { useLiveJob } from '../lib/use-live-job.js';
import { ConfirmDialog } from './confirm-dialog.js';
import { ErrorNotice } from './error-notice.js';
import { Notice } from './notice.js';
import { RotationProgress } from './rotation-progress.js';

export function InterruptedJob(props: { job: RotationJob | null; onChanged: () => void }) {
  const { t, formatNumber } = useI18n();
  const api = useApi();
  const [abandoning, setAbandoning] = useState(false);
  const [resumed, setResumed] = useState<MasterRotationResult | DataRekeyResult | null>(null);
  const [abandoned, setAbandoned] = useState<RotationJob | null>(null);
  const resume = useGuardedAction(async () => {
    try {
      setResumed(await api.resumeRotation());
    } finally {
      props.onChanged();
    }
  });
  const live = useLiveJob(api, resume.busy);
  const { job } = props;

  return (
    <>
      {job === null ? null : (
        <section class="card card-warning" aria-labelledby="interrupted-title">
          <h2 id="interrupted-title">{t('jobs.interruptedTitle')}</h2>
          <p>{t('jobs.interruptedLead')}</p>
          <div data-testid="interrupted-job">
            <RotationProgress job={resume.busy && live !== null ? live : job} />
          </div>
          <ErrorNotice error={resume.error} testId="resume-error" />
          <div class="button-row">
            <button
              type="button"
              class="primary"
              disabled={resume.busy}
              data-testid="resume-job"
              onClick={() => {
                setAbandoned(null);
                resume.run();
              }}
            >
              {resume.busy ? t('jobs.resuming') : t('jobs.resume')}
            </button>
            <button
              type="button"
              disabled={resume.busy}
              data-testid="abandon-job"
              onClick={() => setAbandoning(true)}
            >
              {t('jobs.abandon')}
            </button>
          </div>
        </section>
      )}

      {resumed === null ? null : (
        <Notice tone="success" title={t('jobs.resumedTitle')} testId="resume-done">
          <p>
            {resumed.kind === 'master'
              ? t('jobs.resumedMaster', {
                  rewrapped: formatNumber(resumed.dataKeys.rewrapped),
                  to: resumed.to,
                })
              : t('jobs.resumedData', {
                  scopes: formatNumber(resumed.scopes),
                  destroyed: formatNumber(resumed.dataKeys.destroyed),
                })}
          </p>
        </Notice>
      )}
      {abandoned === null ? null : (
        <Notice tone="info" title={t('jobs.abandonedTitle')} testId="abandon-done">
          <p>{t('jobs.abandonedBody', { id: abandoned.id })}</p>
        </Notice>
      )}

      <ConfirmDialog
        open={abandoning}
        title={t('jobs.abandonTitle')}
        confirmLabel={t('jobs.abandonConfirm')}
        danger
        onClose={() => setAbandoning(false)}
        onConfirm={async () => {
          setResumed(null);
          try {
            setAbandoned(await api.abandonRotation());
          } finally {
            props.onChanged();
          }
        }}
      >
        <p>{t('jobs.abandonLead', { id: job?.id ?? '' })}</p>
        <ul>
          <li>{t(job?.kind === 'master' ? 'jobs.abandonSafeMaster' : 'jobs.abandonSafeData')}</li>
          <li>{t('jobs.abandonFinal')}</li>
        </ul>
      </ConfirmDialog>
    </>
  );
}
