/**
 * A rotation job's progress and state: a <progress> bar over the work planned
 * and done so far (job-progress.ts), with the job's fingerprints and times.
 */
import type { RotationJob } from '../api/api-types.js';
import { useI18n } from '../i18n/i18n-context.js';
import type { MessageKey } from '../i18n/messages.js';
import { jobProgress } from '../lib/job-progress.js';

const STATES: Record<RotationJob['state'], MessageKey> = {
  running: 'rotation.stateRunning',
  done: 'rotation.stateDone',
  failed: 'rotation.stateFailed',
};

export function RotationProgress(props: { job: RotationJob }) {
  const { t, formatNumber, formatTime } = useI18n();
  const { job } = props;
  const { done, total, unit } = jobProgress(job);
  return (
    <div class="rotation" data-testid="rotation-job" data-state={job.state}>
      <p>
        <span class={`badge badge-${job.state === 'failed' ? 'error' : job.state}`}>
          {t(STATES[job.state])}
        </span>{' '}
        {t(job.kind === 'data' ? 'rotation.kindData' : 'rotation.kindMaster')}{' '}
        {job.from === null || job.to === null
          ? null
          : t('rotation.fromTo', { from: job.from, to: job.to })}
      </p>
      <label class="progress-label">
        {t(unit === 'rows' ? 'rotation.progressRows' : 'rotation.progress', {
          done: formatNumber(done),
          total: formatNumber(total),
        })}
        <progress max={Math.max(total, 1)} value={total === 0 ? 1 : done} />
      </label>
      <p class="muted">
        {t('rotation.times', {
          started: formatTime(job.startedAt),
          finished: formatTime(job.finishedAt),
        })}{' '}
        · {t(job.mode === 'atomic' ? 'rotation.modeAtomic' : 'rotation.modeOnline')}
      </p>
      {job.error === null ? null : <p class="error-message">{job.error}</p>}
    </div>
  );
}
