/** Rotation.resume, abandon and status: what is done with the one unfinished job. */
import { LockboxError } from '../errors.js';
import type { Actor } from '../vault/audit-sink.js';
import { recordEvent } from '../vault/audited.js';
import { rekeyData } from './data-rekey-entry.js';
import { type MasterKeyInput, toMasterKey } from './master-key-input.js';
import { rotateMaster } from './master-rotation-entry.js';
import type { RotationContext } from './rotation-context.js';
import { finishJob, type RotationJob, recentJobs, unfinishedJob } from './rotation-jobs.js';
import { rotationLockInfo } from './rotation-lock.js';
import type {
  DataRekeyResult,
  MasterRotationResult,
  ResumeOptions,
  RotationStatus,
} from './rotation-options.js';

/**
 * Continues the interrupted job. A master rotation needs its old and new keys:
 * given here, or found in the keyring by the job's fingerprints. Throws
 * ROTATION_NOT_FOUND when nothing is unfinished, KEY_NOT_IN_KEYRING when a key
 * is needed, ROTATION_OLD_KEY_MISMATCH when a given key is not the job's.
 */
export async function resume(
  ctx: RotationContext,
  options: ResumeOptions = {},
): Promise<MasterRotationResult | DataRekeyResult> {
  const job = await unfinishedJob(ctx.vault.store.db);
  if (job === undefined) {
    throw new LockboxError('ROTATION_NOT_FOUND', 'there is no unfinished rotation to resume');
  }
  const common = {
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.actor === undefined ? {} : { actor: options.actor }),
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
  };
  if (job.kind === 'data') {
    return rekeyData(ctx, {
      ...common,
      ...(options.fieldGraceMs === undefined ? {} : { fieldGraceMs: options.fieldGraceMs }),
    });
  }
  const key = (given: MasterKeyInput | undefined, fingerprint: string, what: string) => {
    const found =
      given === undefined ? ctx.vault.keyring.get(fingerprint) : toMasterKey(given, what);
    if (found === undefined) {
      throw new LockboxError(
        'KEY_NOT_IN_KEYRING',
        `resuming job ${job.id} needs the ${what} (fingerprint ${fingerprint}); add it to the keyring or pass it`,
        { details: { fingerprint, jobId: job.id } },
      );
    }
    if (found.fingerprint !== fingerprint) {
      throw new LockboxError(
        'ROTATION_OLD_KEY_MISMATCH',
        `the ${what} given (fingerprint ${found.fingerprint}) is not the one job ${job.id} rotates (${fingerprint}); nothing was changed`,
        { details: { given: found.fingerprint, expected: fingerprint, jobId: job.id } },
      );
    }
    return found;
  };
  return rotateMaster(ctx, {
    ...common,
    oldKey: key(options.oldKey, job.from as string, 'old key'),
    newKey: key(options.newKey, job.to as string, 'new key'),
  });
}

/**
 * Gives up the unfinished job (it will not be resumed). Always safe: a master
 * rotation leaves data keys under the old or the new key (keep both in the
 * keyring until `lockbox doctor` says otherwise); a data re-key leaves retiring
 * keys intact, and the next re-key destroys them. Throws ROTATION_NOT_FOUND or
 * ROTATION_IN_PROGRESS (its process is still running). Audited as
 * key.rotate.abandon (the job's id and kind).
 */
export async function abandon(
  ctx: RotationContext,
  actor?: Actor,
  options: { requestId?: string } = {},
): Promise<RotationJob> {
  const db = ctx.vault.store.db;
  const abandoned = await ctx.locked('abandon', async (lock) => {
    const job = await unfinishedJob(db);
    if (job === undefined) {
      throw new LockboxError('ROTATION_NOT_FOUND', 'there is no unfinished rotation to abandon');
    }
    await db.transaction().execute(async (trx) => {
      await lock.touch(trx);
      await finishJob(
        trx,
        job.id,
        'failed',
        job.checkpoint,
        job.totals,
        `abandoned by ${actor?.id ?? 'app'}`,
      );
    });
    return { ...job, state: 'failed' as const };
  });
  await recordEvent(
    ctx.audit,
    {
      action: 'key.rotate.abandon',
      outcome: 'ok',
      details: { jobId: abandoned.id, kind: abandoned.kind },
    },
    { ...(actor === undefined ? {} : { actor }), ...options },
  );
  return abandoned;
}

export async function status(ctx: RotationContext): Promise<RotationStatus> {
  const db = ctx.vault.store.db;
  return {
    lock: (await rotationLockInfo(ctx.vault.store, ctx.vault.storeId)) ?? null,
    unfinished: (await unfinishedJob(db)) ?? null,
    recent: await recentJobs(db, 10),
  };
}
