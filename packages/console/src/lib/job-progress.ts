/**
 * How far a rotation job is, for its progress bar. A master rotation's totals
 * are { planned, rewrapped } (data keys); a finished job is shown complete even
 * when keys created meanwhile made `rewrapped` differ from `planned`.
 */
import type { RotationJob } from '../api/api-types.js';

/** Units done and planned, from a job's totals (master: rewrapped/planned). */
export function jobProgress(job: RotationJob): { done: number; total: number } {
  const n = (key: string) => {
    const value = job.totals[key];
    return typeof value === 'number' && Number.isFinite(value) ? value : 0;
  };
  const total = n('planned');
  const done = Math.min(n('rewrapped'), total);
  return job.state === 'done' ? { done: total, total } : { done, total };
}
