/**
 * Rotation jobs, over their rows in lockbox_rotation_jobs (store/rotation-job-rows.ts):
 * what a job is doing, where a rerun resumes (checkpoint) and what it has done
 * so far (totals).
 *
 * States:
 * - 'running': started and not finished. Either its process is working on it
 *   (it holds the rotation lock) or it was interrupted (crash, error — `error`
 *   then says why) and the next run of the same rotation, or `resume`, continues it.
 * - 'done': finished.
 * - 'failed': abandoned by the operator; never resumed. Abandoning is always
 *   safe: every row stays readable with the keys that were configured.
 *
 * Checkpoint and totals are written in the same transaction as the batch they
 * describe, so after a crash they match the data exactly.
 */
import { randomUUID } from 'node:crypto';
import { nowIso } from '../clock.js';
import type { Executor } from '../store/executor.js';
import {
  insertRotationJob,
  jobRowsOfKind,
  markJobFinished,
  type RotationJobRow,
  recentJobRows,
  recordJobStopRow,
  runningJobRow,
  writeJobProgress,
} from '../store/rotation-job-rows.js';
import type { RotationJobTable } from '../store/schema.js';
import type { RotationMode } from './rotation-mode.js';

export type RotationKind = RotationJobTable['kind'];

export interface RotationJob<C = Record<string, unknown>, T = Record<string, unknown>> {
  id: string;
  kind: RotationKind;
  mode: RotationMode;
  state: RotationJobTable['state'];
  from: string | null;
  to: string | null;
  checkpoint: C;
  totals: T;
  startedBy: string | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** Why the job stopped, as "CODE: message" (never secret). */
  error: string | null;
  /** The stable code of that stop; null when it has none (running, or abandoned). */
  errorCode: string | null;
}

/** Why a job stopped: a stable code and a message that never holds a secret. */
export interface JobStop {
  code: string;
  message: string;
}

function toJob<C, T>(row: RotationJobRow): RotationJob<C, T> {
  return {
    id: row.id,
    kind: row.kind,
    mode: row.mode,
    state: row.state,
    from: row.from_fingerprint,
    to: row.to_fingerprint,
    checkpoint: (row.checkpoint === null ? {} : JSON.parse(row.checkpoint)) as C,
    totals: (row.totals === null ? {} : JSON.parse(row.totals)) as T,
    startedBy: row.started_by,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    error: row.error,
    errorCode: row.error_code,
  };
}

export async function createJob<C, T>(
  db: Executor,
  job: {
    /** Chosen by the caller when it must name the job before creating it (the lock holder). */
    id?: string;
    kind: RotationKind;
    mode: RotationMode;
    from: string | null;
    to: string | null;
    checkpoint: C;
    totals: T;
    startedBy: string | null;
  },
): Promise<RotationJob<C, T>> {
  const now = nowIso();
  const row: RotationJobRow = {
    id: job.id ?? randomUUID(),
    kind: job.kind,
    mode: job.mode,
    state: 'running',
    from_fingerprint: job.from,
    to_fingerprint: job.to,
    checkpoint: JSON.stringify(job.checkpoint),
    totals: JSON.stringify(job.totals),
    started_by: job.startedBy,
    started_at: now,
    updated_at: now,
    finished_at: null,
    error: null,
    error_code: null,
  };
  await insertRotationJob(db, row);
  return toJob<C, T>(row);
}

/** Persists progress; call inside the transaction of the batch it describes. */
export async function saveJob<C, T>(
  db: Executor,
  id: string,
  checkpoint: C,
  totals: T,
): Promise<void> {
  await writeJobProgress(db, id, {
    checkpoint: JSON.stringify(checkpoint),
    totals: JSON.stringify(totals),
    updatedAt: nowIso(),
  });
}

export async function finishJob<C, T>(
  db: Executor,
  id: string,
  state: 'done' | 'failed',
  checkpoint: C,
  totals: T,
  error: string | null = null,
): Promise<void> {
  await markJobFinished(db, id, {
    state,
    checkpoint: JSON.stringify(checkpoint),
    totals: JSON.stringify(totals),
    at: nowIso(),
    error,
  });
}

/** Records why a job stopped; it stays 'running' so that it can be resumed. */
export async function recordJobError(db: Executor, id: string, stop: JobStop): Promise<void> {
  await recordJobStopRow(db, id, {
    error: `${stop.code}: ${stop.message}`,
    errorCode: stop.code,
    at: nowIso(),
  });
}

/** The job that has not finished, if any (there is at most one: jobs start under the lock). */
export async function unfinishedJob(db: Executor): Promise<RotationJob | undefined> {
  const row = await runningJobRow(db);
  return row === undefined ? undefined : toJob(row);
}

export async function recentJobs(db: Executor, limit: number): Promise<RotationJob[]> {
  return (await recentJobRows(db, limit)).map((row) => toJob(row));
}

export async function jobsOfKind(db: Executor, kind: RotationKind): Promise<RotationJob[]> {
  return (await jobRowsOfKind(db, kind)).map((row) => toJob(row));
}
