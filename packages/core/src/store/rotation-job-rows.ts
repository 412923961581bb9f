/**
 * lockbox_rotation_jobs, the only code that runs SQL on it (schema history
 * aside): one row per master rotation or data re-key. The checkpoint and totals
 * columns are JSON text here; what they mean, and the job's lifecycle, is
 * rotation/rotation-jobs.ts.
 */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from './executor.js';
import type { RotationJobTable } from './schema.js';

export type RotationJobRow = Selectable<RotationJobTable>;

export async function insertRotationJob(
  db: Executor,
  row: Insertable<RotationJobTable>,
): Promise<void> {
  await db.insertInto('lockbox_rotation_jobs').values(row).execute();
}

/** A batch's progress; clears the stop a previous run recorded (the job is moving again). */
export async function writeJobProgress(
  db: Executor,
  id: string,
  progress: { checkpoint: string; totals: string; updatedAt: string },
): Promise<void> {
  await db
    .updateTable('lockbox_rotation_jobs')
    .set({
      checkpoint: progress.checkpoint,
      totals: progress.totals,
      updated_at: progress.updatedAt,
      error: null,
      error_code: null,
    })
    .where('id', '=', id)
    .execute();
}

export async function markJobFinished(
  db: Executor,
  id: string,
  end: {
    state: 'done' | 'failed';
    checkpoint: string;
    totals: string;
    at: string;
    error: string | null;
  },
): Promise<void> {
  await db
    .updateTable('lockbox_rotation_jobs')
    .set({
      state: end.state,
      checkpoint: end.checkpoint,
      totals: end.totals,
      updated_at: end.at,
      finished_at: end.at,
      error: end.error,
      error_code: null,
    })
    .where('id', '=', id)
    .execute();
}

/** Why a job stopped; its state is left alone (a stopped job stays resumable). */
export async function recordJobStopRow(
  db: Executor,
  id: string,
  stop: { error: string; errorCode: string; at: string },
): Promise<void> {
  await db
    .updateTable('lockbox_rotation_jobs')
    .set({ error: stop.error, error_code: stop.errorCode, updated_at: stop.at })
    .where('id', '=', id)
    .execute();
}

/** The newest running job's row (jobs start under the rotation lock, so there is at most one). */
export async function runningJobRow(db: Executor): Promise<RotationJobRow | undefined> {
  return db
    .selectFrom('lockbox_rotation_jobs')
    .selectAll()
    .where('state', '=', 'running')
    .orderBy('started_at', 'desc')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
}

export async function recentJobRows(db: Executor, limit: number): Promise<RotationJobRow[]> {
  return db
    .selectFrom('lockbox_rotation_jobs')
    .selectAll()
    .orderBy('started_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function jobRowsOfKind(
  db: Executor,
  kind: RotationJobTable['kind'],
): Promise<RotationJobRow[]> {
  return db
    .selectFrom('lockbox_rotation_jobs')
    .selectAll()
    .where('kind', '=', kind)
    .orderBy('started_at')
    .execute();
}
