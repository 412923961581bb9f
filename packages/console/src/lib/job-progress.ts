/**
 * How far a rotation job is, for its progress bar, from the totals the job
 * saves with each batch:
 * - master rotation: { planned, rewrapped } data keys;
 * - data re-key: { plannedRows, secrets, fields: { "table.column": rows } } rows.
 * A finished job shows complete even when rows written meanwhile made the counts
 * differ from the plan; missing or malformed totals count as zero.
 */
import type { RotationJob } from '../api/api-types.js';

export interface JobProgress {
  done: number;
  total: number;
  unit: 'dataKeys' | 'rows';
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

export function jobProgress(job: RotationJob): JobProgress {
  const totals = job.totals;
  let done: number;
  let total: number;
  if (job.kind === 'data') {
    const fields = totals.fields;
    const fieldRows =
      typeof fields === 'object' && fields !== null
        ? Object.values(fields).reduce((sum: number, n) => sum + count(n), 0)
        : 0;
    total = count(totals.plannedRows);
    done = count(totals.secrets) + fieldRows;
  } else {
    total = count(totals.planned);
    done = count(totals.rewrapped);
  }
  const unit = job.kind === 'data' ? 'rows' : 'dataKeys';
  if (job.state === 'done') return { done: total, total, unit };
  return { done: Math.min(done, total), total, unit };
}
