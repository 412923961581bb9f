/**
 * The one lifecycle of a rotation job, shared by master rotation and data
 * re-key (adoption holds the lock but keeps no job):
 *
 *   1. before the lock, `pendingJob`: an unfinished job of another rotation
 *      refuses this one (ROTATION_IN_PROGRESS) before anything is written;
 *   2. under the rotation lock, `runJob`: look again (another process may have
 *      started or finished one meanwhile), continue the unfinished job or
 *      create a new one, name it in the lock row, do the work;
 *   3. a failure records its code and message on the job (which stays
 *      resumable) and an `error` audit entry; success an `ok` entry.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isLockboxError, LockboxError } from '../errors.js';
import type { LockboxSchema } from '../store/schema.js';
import {
  createJob,
  type JobStop,
  type RotationJob,
  recordJobError,
  unfinishedJob,
} from './rotation-jobs.js';
import type { RotationLockHandle } from './rotation-lock.js';

type Db = Kysely<LockboxSchema>;

/** What the job records about a failure: the stable code, never a secret. */
export function jobStop(err: unknown): JobStop {
  return isLockboxError(err)
    ? { code: err.code, message: err.message }
    : { code: 'INTERNAL', message: 'unexpected error' };
}

/** ROTATION_IN_PROGRESS naming the unfinished job and what to do about it. */
export function unfinishedError(job: RotationJob): LockboxError {
  const what = job.kind === 'master' ? `master rotation ${job.from} → ${job.to}` : 'data re-key';
  const stopped = job.errorCode === null ? '' : `, stopped by ${job.errorCode}`;
  return new LockboxError(
    'ROTATION_IN_PROGRESS',
    `an unfinished ${what} (job ${job.id}, started ${job.startedAt}${stopped}) must be finished first: run \`lockbox rotate resume\` (or \`lockbox rotate abandon\`, which is safe)`,
    { details: { jobId: job.id, kind: job.kind, startedAt: job.startedAt } },
  );
}

/**
 * The unfinished job this rotation would continue (undefined: none), read
 * before the lock so that a refusal changes nothing. Throws
 * ROTATION_IN_PROGRESS when the unfinished job belongs to another rotation.
 */
export async function pendingJob(
  db: Db,
  owns: (job: RotationJob) => boolean,
): Promise<RotationJob | undefined> {
  const pending = await unfinishedJob(db);
  if (pending !== undefined && !owns(pending)) throw unfinishedError(pending);
  return pending;
}

export type NewJob<C, T> = Omit<Parameters<typeof createJob<C, T>>[1], 'id'>;

export interface JobRun<C, T, R> {
  db: Db;
  /** The unfinished job seen before the lock (`pendingJob`). */
  pending: RotationJob | undefined;
  owns: (job: RotationJob) => boolean;
  /** Runs `work` under the cross-process rotation lock, labelled with the job id. */
  locked: <X>(label: string, work: (lock: RotationLockHandle) => Promise<X>) => Promise<X>;
  /** The job to create when there is none to continue. */
  create: () => NewJob<C, T>;
  work: (job: RotationJob<C, T>, lock: RotationLockHandle) => Promise<R>;
  /** Records the outcome's audit entry (a failure to record an error is not raised over it). */
  audit: (job: RotationJob<C, T>, outcome: JobOutcome<R>) => Promise<void>;
}

export type JobOutcome<R> = { ok: true; result: R } | { ok: false; stop: JobStop };

export async function runJob<C, T, R>(run: JobRun<C, T, R>): Promise<R> {
  const label = run.pending?.id ?? randomUUID();
  return run.locked(label, async (lock) => {
    const current = await pendingJob(run.db, run.owns);
    const job =
      (current as RotationJob<C, T> | undefined) ??
      (await createJob<C, T>(run.db, {
        // The job seen before the lock may have finished meanwhile: then a new id.
        id: run.pending === undefined ? label : randomUUID(),
        ...run.create(),
      }));
    await lock.setJob(job.id);
    let result: R;
    try {
      result = await run.work(job, lock);
    } catch (err) {
      const stop = jobStop(err);
      await recordJobError(run.db, job.id, stop).catch(() => undefined);
      await run.audit(job, { ok: false, stop }).catch(() => undefined);
      throw err;
    }
    await run.audit(job, { ok: true, result });
    return result;
  });
}
