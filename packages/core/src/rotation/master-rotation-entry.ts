/** Rotation.rotateMaster: proves, picks the mode, and runs the master rotation job. */
import { performance } from 'node:perf_hooks';
import { Keyring, type MasterKey } from '../keys/keyring.js';
import { recordEvent } from '../vault/audited.js';
import { initialMasterState, type MasterCheckpoint, type MasterTotals } from './checkpoint.js';
import { pendingJob, runJob } from './job-runner.js';
import { toMasterKey } from './master-key-input.js';
import {
  type MasterJob,
  proveMasterRotation,
  recordActiveMasterKey,
  runMasterRotation,
} from './master-rotation.js';
import type { RotationContext } from './rotation-context.js';
import type { RotationJob } from './rotation-jobs.js';
import {
  AUTO_ATOMIC_MAX_DATA_KEYS,
  batchSizeOf,
  chooseMode,
  type ModeDecision,
} from './rotation-mode.js';
import type { MasterRotationResult, RotateMasterOptions } from './rotation-options.js';

/** The keyring a master rotation uses: new key primary, old key and the rest previous. */
function rotationKeyring(current: Keyring, newKey: MasterKey, oldKey: MasterKey): Keyring {
  const others = current
    .all()
    .filter((k) => k.fingerprint !== newKey.fingerprint && k.fingerprint !== oldKey.fingerprint);
  return new Keyring(newKey, [oldKey, ...others]);
}

/**
 * Rewraps every live data key from `oldKey` to `newKey`. Refuses, changing
 * nothing, with KEY_INVALID_* (a key is malformed), KEY_SAME_AS_OLD,
 * ROTATION_OLD_KEY_MISMATCH, ROTATION_FIRST_ROW_FAILED, or ROTATION_IN_PROGRESS
 * (another rotation holds the lock, or a different one is unfinished). Rerun
 * with the same keys after an interruption, it continues the job. On success
 * this instance's keyring becomes: new key primary, old key previous.
 */
export async function rotateMaster(
  ctx: RotationContext,
  options: RotateMasterOptions,
): Promise<MasterRotationResult> {
  const started = performance.now();
  const oldKey = toMasterKey(options.oldKey, 'old key');
  const newKey = toMasterKey(options.newKey, 'new key');
  const batchSize = batchSizeOf(options.batchSize);
  const db = ctx.vault.store.db;
  const planned = await proveMasterRotation(db, ctx.vault.dataKeys.integrity, oldKey, newKey);
  const owns = (job: RotationJob) =>
    job.kind === 'master' && job.from === oldKey.fingerprint && job.to === newKey.fingerprint;
  const pending = await pendingJob(db, owns);
  const decision: ModeDecision =
    pending !== undefined
      ? { mode: pending.mode, reason: `${pending.mode}: resuming job ${pending.id}` }
      : chooseMode(options.mode, planned, 'data keys', AUTO_ATOMIC_MAX_DATA_KEYS);
  const result = (job: MasterJob | undefined, remaining: number): MasterRotationResult => ({
    kind: 'master',
    jobId: job?.id ?? null,
    dryRun: job === undefined,
    mode: decision.mode,
    modeReason: decision.reason,
    resumed: pending !== undefined,
    from: oldKey.fingerprint,
    to: newKey.fingerprint,
    dataKeys: {
      planned: job?.totals.planned ?? planned,
      rewrapped: job?.totals.rewrapped ?? 0,
      remaining,
    },
    oldKeyRetired: job !== undefined && remaining === 0,
    durationMs: Math.round(performance.now() - started),
  });
  if (options.dryRun === true) return result(undefined, planned);
  const keyring = rotationKeyring(ctx.vault.keyring, newKey, oldKey);
  return runJob<MasterCheckpoint, MasterTotals, MasterRotationResult>({
    db,
    pending,
    owns,
    locked: (label, work) => ctx.locked(label, work),
    create: () => ({
      kind: 'master',
      mode: decision.mode,
      from: oldKey.fingerprint,
      to: newKey.fingerprint,
      ...initialMasterState(planned),
      startedBy: options.actor?.id ?? null,
    }),
    work: async (job, lock) => {
      await recordActiveMasterKey(db, ctx.vault.dataKeys.integrity, newKey.fingerprint);
      // From here this instance wraps new data keys under the new key.
      ctx.vault.dataKeys.setKeyring(keyring);
      const remaining = await runMasterRotation({
        db,
        dialect: ctx.vault.store.dialect,
        job,
        mode: job.mode,
        keyring,
        integrity: ctx.vault.dataKeys.integrity,
        lock,
        batchSize,
        onProgress: options.onProgress,
      });
      return result(job, remaining);
    },
    audit: (job, outcome) =>
      recordEvent(
        ctx.audit,
        {
          action: 'key.rotate.master',
          outcome: outcome.ok ? 'ok' : 'error',
          details: {
            jobId: job.id,
            from: job.from,
            to: job.to,
            // Where each key lives (a local key or a PKCS#11 token), never the key.
            fromProvider: oldKey.provider,
            toProvider: newKey.provider,
            mode: job.mode,
            ...(outcome.ok
              ? { rewrapped: job.totals.rewrapped, remaining: outcome.result.dataKeys.remaining }
              : { code: outcome.stop.code }),
          },
        },
        options,
      ),
  });
}
