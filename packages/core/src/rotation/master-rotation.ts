/**
 * Master-key rotation: every live data key wrapped under the old master key is
 * rewrapped under the new one. The data keys' bytes do not change, so no secret
 * or field row is touched, caches stay valid, and the cost grows with the number
 * of data keys, not of secrets. `wrapped_recovery` (the same bytes wrapped to
 * the recovery recipient) is never touched either.
 *
 * Invariant: at every instant each data key is wrapped under the old or the new
 * master key, and both are in the keyring the job and a correctly configured
 * instance use, so every row stays readable. Each rewrap is a compare-and-swap
 * on the old `wrapped` value.
 *
 * Order of work:
 *   prove   the old key matches a stored fingerprint, the new key differs, and
 *           the first data key unwraps with the old key (read-only);
 *   begin   (under the rotation lock) record the new key as active;
 *   rewrap  batches ordered by id, checkpoint + totals saved with each batch;
 *           then sweep again for keys created under the old key meanwhile;
 *   finish  retire the old key only if no live data key needs it any more.
 */
import type { Kysely } from 'kysely';
import { nowIso } from '../clock.js';
import { dataKeyContext } from '../crypto/context.js';
import { isLockboxError, LockboxError } from '../errors.js';
import { Keyring, type MasterKey } from '../keys/keyring.js';
import type { DialectName } from '../store/connect.js';
import {
  firstLiveDataKeyUnder,
  liveDataKeyCountUnder,
  liveWrappedDataKeysUnder,
  rewrapDataKeysIfUnchanged,
} from '../store/data-key-state-rows.js';
import { lockMasterKeyRow } from '../store/master-key-rows.js';
import { setMeta } from '../store/meta-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import type { IntegrityKey } from '../vault/integrity-key.js';
import {
  fingerprintsWrappingLiveDataKeys,
  readMasterKeyRecords,
  writeMasterKeyRecord,
} from '../vault/master-key-records.js';
import { META } from '../vault/store-meta.js';
import { type BatchTransactions, withBatchTransactions } from './batch-transactions.js';
import {
  afterRewrapBatch,
  type MasterCheckpoint,
  type MasterTotals,
  masterFinished,
  maySweepAgain,
  nextSweep,
} from './checkpoint.js';
import { finishJob, type RotationJob, saveJob } from './rotation-jobs.js';
import type { RotationLockHandle } from './rotation-lock.js';
import type { RotationMode } from './rotation-mode.js';
import type { ProgressListener } from './rotation-progress.js';

type Db = Kysely<LockboxSchema>;

export type MasterJob = RotationJob<MasterCheckpoint, MasterTotals>;

/**
 * Fingerprints this store knows: authenticated master-key records and those
 * wrapping live data keys (a record that fails its check does not count).
 */
export async function knownMasterKeys(db: Db, integrity: IntegrityKey): Promise<Set<string>> {
  const recorded = (await readMasterKeyRecords(db, integrity)).valid;
  const wrapping = await fingerprintsWrappingLiveDataKeys(db);
  return new Set([...recorded.map((r) => r.fingerprint), ...wrapping]);
}

export function liveDataKeysUnder(db: Db, fingerprint: string): Promise<number> {
  return liveDataKeyCountUnder(db, fingerprint);
}

/**
 * Proves the rotation may start; read-only. Throws KEY_SAME_AS_OLD,
 * ROTATION_OLD_KEY_MISMATCH (the old key's fingerprint is not one this store
 * knows) or ROTATION_FIRST_ROW_FAILED (the first data key under the old key does
 * not unwrap with it). Returns how many data keys are to be rewrapped.
 */
export async function proveMasterRotation(
  db: Db,
  integrity: IntegrityKey,
  oldKey: MasterKey,
  newKey: MasterKey,
): Promise<number> {
  if (oldKey.fingerprint === newKey.fingerprint) {
    throw new LockboxError(
      'KEY_SAME_AS_OLD',
      `the new key is the old key (fingerprint ${oldKey.fingerprint}); generate a new one with \`lockbox keygen\`; nothing was changed`,
      { details: { fingerprint: oldKey.fingerprint } },
    );
  }
  const known = await knownMasterKeys(db, integrity);
  if (!known.has(oldKey.fingerprint)) {
    throw new LockboxError(
      'ROTATION_OLD_KEY_MISMATCH',
      `the old key (fingerprint ${oldKey.fingerprint}) is not a master key of this store (${[...known].sort().join(', ') || 'none recorded'}); nothing was changed`,
      { details: { given: oldKey.fingerprint, known: [...known].sort() } },
    );
  }
  const first = await firstLiveDataKeyUnder(db, oldKey.fingerprint);
  if (first !== undefined) {
    try {
      if (first.wrapped === null) throw new LockboxError('WRAPPED_KEY_MALFORMED');
      new Keyring(oldKey).unwrap(first.wrapped, dataKeyContext(first.scope, first.id)).fill(0);
    } catch (err) {
      const reason = isLockboxError(err) ? err.code : 'INTERNAL';
      throw new LockboxError(
        'ROTATION_FIRST_ROW_FAILED',
        `data key ${first.id} of scope "${first.scope}" does not unwrap with the old key (${reason}); nothing was changed; run \`lockbox doctor\``,
        { cause: err, details: { dataKeyId: first.id, scope: first.scope, reason } },
      );
    }
  }
  return liveDataKeysUnder(db, oldKey.fingerprint);
}

/**
 * Records `fingerprint` as an active master key (before anything is wrapped under
 * it), MACed. The rotating operator holds this key, so re-activating a record that
 * said retired is theirs to do.
 */
export async function recordActiveMasterKey(
  db: Db,
  integrity: IntegrityKey,
  fingerprint: string,
): Promise<void> {
  await writeMasterKeyRecord(db, integrity, {
    fingerprint,
    state: 'active',
    created_at: nowIso(),
    retired_at: null,
  });
}

function rewrap(keyring: Keyring, row: { id: string; scope: string; wrapped: string }): string {
  const context = dataKeyContext(row.scope, row.id);
  let bytes: Buffer;
  try {
    bytes = keyring.unwrap(row.wrapped, context);
  } catch (err) {
    const reason = isLockboxError(err) ? err.code : 'INTERNAL';
    throw new LockboxError(
      'DATA_KEY_UNDECRYPTABLE',
      `data key ${row.id} of scope "${row.scope}" does not unwrap (${reason}); it was left as it is`,
      { cause: err, details: { dataKeyId: row.id, scope: row.scope, reason } },
    );
  }
  try {
    return keyring.wrap(bytes, context);
  } finally {
    bytes.fill(0);
  }
}

async function rewrapBatch(
  trx: Db,
  dialect: DialectName,
  job: MasterJob,
  keyring: Keyring,
  from: string,
  batchSize: number,
): Promise<number> {
  const rows = await liveWrappedDataKeysUnder(trx, from, job.checkpoint.lastId, batchSize);
  if (rows.length === 0) return 0;
  const rewraps = rows.map((row) => ({
    id: row.id,
    expected: row.wrapped,
    wrapped: rewrap(keyring, row),
    masterFingerprint: keyring.primary.fingerprint,
  }));
  const rewrapped = await rewrapDataKeysIfUnchanged(trx, dialect, rewraps, nowIso());
  const next = afterRewrapBatch(job, { lastId: rows[rows.length - 1]!.id, rewrapped });
  job.checkpoint = next.checkpoint;
  job.totals = next.totals;
  await saveJob(trx, job.id, job.checkpoint, job.totals);
  return rows.length;
}

export interface MasterRunOptions {
  db: Db;
  dialect: DialectName;
  job: MasterJob;
  mode: RotationMode;
  /** New key primary, old key (and any others) previous. */
  keyring: Keyring;
  integrity: IntegrityKey;
  lock: RotationLockHandle;
  batchSize: number;
  onProgress: ProgressListener | undefined;
}

/** Rewraps, then finishes the job. Returns how many data keys still need the old key. */
export async function runMasterRotation(options: MasterRunOptions): Promise<number> {
  const { db, job, keyring, lock, batchSize, onProgress } = options;
  const from = job.from as string;
  const report = () =>
    onProgress?.({
      phase: 'rewrap',
      done: job.totals.rewrapped,
      total: Math.max(job.totals.planned, job.totals.rewrapped),
    });
  report();
  await withBatchTransactions(
    db,
    options.mode,
    (trx) => lock.touch(trx),
    async (batches: BatchTransactions) => {
      for (;;) {
        const read = await batches.run((trx) =>
          rewrapBatch(trx, options.dialect, job, keyring, from, batchSize),
        );
        if (read > 0) {
          report();
          continue;
        }
        // Keys created under the old key by instances whose primary it still is,
        // and keys whose swap lost to a concurrent change, are picked up by a sweep.
        if (!maySweepAgain(job.checkpoint)) break;
        const left = await batches.run((trx) => liveDataKeysUnder(trx, from));
        const sweep = nextSweep(job.checkpoint, left);
        if (sweep === undefined) break;
        job.checkpoint = sweep;
      }
    },
  );
  return db.transaction().execute(async (trx) => {
    await lock.touch(trx);
    // The old key's row lock first: an instance making a data key under it holds
    // it too (usablePrimaryRecord), so the count below sees that key, or that
    // instance sees the retirement and refuses (MASTER_KEY_RETIRED).
    await lockMasterKeyRow(trx, from);
    const remaining = await liveDataKeysUnder(trx, from);
    const now = nowIso();
    await recordActiveMasterKey(trx, options.integrity, keyring.primary.fingerprint);
    if (remaining === 0) {
      // Never retired while a data key needs it.
      await writeMasterKeyRecord(trx, options.integrity, {
        fingerprint: from,
        state: 'retired',
        created_at: now,
        retired_at: now,
      });
    }
    await setMeta(trx, META.keysChangedAt, now);
    job.checkpoint = masterFinished(job.checkpoint);
    await finishJob(trx, job.id, 'done', job.checkpoint, job.totals);
    return remaining;
  });
}
