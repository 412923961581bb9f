import { performance } from 'node:perf_hooks';
import { LockboxError } from '../errors.js';
import { Keyring, type MasterKey } from '../keys/keyring.js';
import type { Actor, AuditSink } from '../vault/audit-sink.js';
import { recordEvent } from '../vault/audited.js';
import { authenticatedRecipient } from '../vault/authenticated-meta.js';
import type { FieldRegistration } from '../vault/fields.js';
import type { Vault } from '../vault/lockbox.js';
import { type AdoptionResult, proveAdoption, runAdoption } from './adoption.js';
import { type Census, type CensusOptions, census } from './census.js';
import {
  initialRekeyCheckpoint,
  MAX_PASSES,
  type RekeyCheckpoint,
  type RekeyTotals,
  runDataRekey,
} from './data-rekey.js';
import { planDataRekey } from './data-rekey-plan.js';
import { FieldTable } from './field-table.js';
import { pendingJob, runJob } from './job-runner.js';
import { assertKeyDroppable } from './key-droppable.js';
import { LegacyDecoder } from './legacy-decoder.js';
import { type MasterKeyInput, toMasterKey } from './master-key-input.js';
import {
  type MasterCheckpoint,
  type MasterJob,
  type MasterTotals,
  proveMasterRotation,
  recordActiveMasterKey,
  runMasterRotation,
} from './master-rotation.js';
import { finishJob, type RotationJob, recentJobs, unfinishedJob } from './rotation-jobs.js';
import { type RotationLockHandle, rotationLockInfo, withRotationLock } from './rotation-lock.js';
import {
  AUTO_ATOMIC_MAX_DATA_KEYS,
  batchSizeOf,
  chooseMode,
  type ModeDecision,
} from './rotation-mode.js';
import type {
  AdoptAllOptions,
  AdoptOptions,
  DataRekeyResult,
  MasterRotationResult,
  RekeyDataOptions,
  ResumeOptions,
  RotateMasterOptions,
  RotationStatus,
} from './rotation-options.js';
import { fieldGraceMsOf } from './rotation-options.js';

/** The keyring a master rotation uses: new key primary, old key and the rest previous. */
function rotationKeyring(current: Keyring, newKey: MasterKey, oldKey: MasterKey): Keyring {
  const others = current
    .all()
    .filter((k) => k.fingerprint !== newKey.fingerprint && k.fingerprint !== oldKey.fingerprint);
  return new Keyring(newKey, [oldKey, ...others]);
}

export class Rotation {
  readonly #vault: Vault;
  readonly #audit: AuditSink | undefined;

  /**
   * `audit`: where rotation events go (key.rotate.master, key.rotate.data,
   * key.rotate.abandon, field.adopt); openLockbox passes the audit log.
   */
  constructor(vault: Vault, audit?: AuditSink) {
    this.#vault = vault;
    this.#audit = audit;
  }

  #locked<T>(label: string, run: (lock: RotationLockHandle) => Promise<T>): Promise<T> {
    return withRotationLock(this.#vault.store, this.#vault.storeId, run, label);
  }

  /** Every registered field's table, its row key checked (FIELD_KEY_UNSUITABLE otherwise). */
  async #fieldTables(): Promise<FieldTable[]> {
    const fields = await this.#vault.fields.list();
    const tables = fields.map((f) => new FieldTable(f, this.#vault.store.dialect));
    for (const table of tables) await table.prepare(this.#vault.store.db);
    return tables;
  }

  /**
   * Rewraps every live data key from `oldKey` to `newKey`. Refuses, changing
   * nothing, with KEY_INVALID_* (a key is malformed), KEY_SAME_AS_OLD,
   * ROTATION_OLD_KEY_MISMATCH, ROTATION_FIRST_ROW_FAILED, or ROTATION_IN_PROGRESS
   * (another rotation holds the lock, or a different one is unfinished). Rerun
   * with the same keys after an interruption, it continues the job. On success
   * this instance's keyring becomes: new key primary, old key previous.
   */
  async rotateMaster(options: RotateMasterOptions): Promise<MasterRotationResult> {
    const started = performance.now();
    const oldKey = toMasterKey(options.oldKey, 'old key');
    const newKey = toMasterKey(options.newKey, 'new key');
    const batchSize = batchSizeOf(options.batchSize);
    const db = this.#vault.store.db;
    const planned = await proveMasterRotation(db, this.#vault.dataKeys.integrity, oldKey, newKey);
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
    const keyring = rotationKeyring(this.#vault.keyring, newKey, oldKey);
    return runJob<MasterCheckpoint, MasterTotals, MasterRotationResult>({
      db,
      pending,
      owns,
      locked: (label, work) => this.#locked(label, work),
      create: () => ({
        kind: 'master',
        mode: decision.mode,
        from: oldKey.fingerprint,
        to: newKey.fingerprint,
        checkpoint: { phase: 'rewrap', lastId: null, sweeps: 0 },
        totals: { planned, rewrapped: 0 },
        startedBy: options.actor?.id ?? null,
      }),
      work: async (job, lock) => {
        await recordActiveMasterKey(db, this.#vault.dataKeys.integrity, newKey.fingerprint);
        // From here this instance wraps new data keys under the new key.
        this.#vault.dataKeys.setKeyring(keyring);
        const remaining = await runMasterRotation({
          db,
          dialect: this.#vault.store.dialect,
          job,
          mode: job.mode,
          keyring,
          integrity: this.#vault.dataKeys.integrity,
          lock,
          batchSize,
          onProgress: options.onProgress,
        });
        return result(job, remaining);
      },
      audit: (job, outcome) =>
        recordEvent(
          this.#audit,
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

  /**
   * Re-keys data: new data keys for every user scope, every secret and field row
   * re-encrypted, old data keys destroyed once no row needs them. Refuses,
   * changing nothing, with ROTATION_FIRST_ROW_FAILED when a data key or the first
   * secret or field row does not open, and ROTATION_IN_PROGRESS.
   */
  async rekeyData(options: RekeyDataOptions = {}): Promise<DataRekeyResult> {
    const started = performance.now();
    const batchSize = batchSizeOf(options.batchSize);
    const db = this.#vault.store.db;
    // Prove before touching: new data keys must never go to a forged recipient, so
    // refuse (RECOVERY_RECIPIENT_UNAUTHENTICATED) before any job exists.
    await authenticatedRecipient(db, this.#vault.dataKeys.integrity);
    const fields = await this.#fieldTables();
    const plan = await planDataRekey(this.#vault, fields);
    const owns = (job: RotationJob) => job.kind === 'data';
    const pending = await pendingJob(db, owns);
    const decision: ModeDecision =
      pending !== undefined
        ? { mode: pending.mode, reason: `${pending.mode}: resuming job ${pending.id}` }
        : chooseMode(options.mode, plan.rows, 'rows');
    const base = {
      kind: 'data' as const,
      mode: decision.mode,
      modeReason: decision.reason,
      resumed: pending !== undefined,
    };
    if (options.dryRun === true) {
      return {
        ...base,
        jobId: null,
        dryRun: true,
        scopes: plan.scopes,
        dataKeys: {
          retired: options.finish === true ? 0 : plan.dataKeys,
          created: 0,
          destroyed: 0,
          retained: 0,
          deferred: 0,
        },
        deferredUntil: null,
        secrets: plan.secrets,
        fields: Object.entries(plan.fieldRows).map(([label, rows]) => {
          const [table = '', column = ''] = label.split('.');
          return { table, column, rows };
        }),
        rows: plan.rows,
        tables:
          (plan.secrets > 0 ? 1 : 0) + Object.values(plan.fieldRows).filter((n) => n > 0).length,
        conflicts: 0,
        unreadable: 0,
        unreadableRows: [],
        durationMs: Math.round(performance.now() - started),
      };
    }
    return runJob<RekeyCheckpoint, RekeyTotals, DataRekeyResult>({
      db,
      pending,
      owns,
      locked: (label, work) => this.#locked(label, work),
      create: () => ({
        kind: 'data',
        mode: decision.mode,
        from: null,
        to: null,
        // Finishing an earlier re-key: no switch, straight to a verification pass.
        checkpoint:
          options.finish === true
            ? { ...initialRekeyCheckpoint(), phase: 'secrets', pass: 1 }
            : initialRekeyCheckpoint(),
        totals: {
          plannedRows: plan.rows,
          scopes: plan.scopes,
          scopesSwitched: 0,
          dataKeysRetired: 0,
          dataKeysCreated: 0,
          secrets: 0,
          fields: {},
          conflicts: 0,
          unreadable: 0,
          unreadableRows: [],
          dataKeysDestroyed: 0,
          dataKeysRetained: 0,
        },
        startedBy: options.actor?.id ?? null,
      }),
      work: async (job, lock) => {
        await runDataRekey({
          db,
          dialect: this.#vault.store.dialect,
          dataKeys: this.#vault.dataKeys,
          job,
          fields,
          lock,
          batchSize,
          fieldGraceMs: fieldGraceMsOf(options.fieldGraceMs),
          onProgress: options.onProgress,
        });
        const t = job.totals;
        const fieldResults = fields.map((f) => ({
          table: f.field.table,
          column: f.field.column,
          rows: t.fields[f.label] ?? 0,
        }));
        const rows = t.secrets + fieldResults.reduce((sum, f) => sum + f.rows, 0);
        return {
          ...base,
          mode: job.mode,
          jobId: job.id,
          dryRun: false,
          scopes: t.scopes,
          dataKeys: {
            retired: t.dataKeysRetired,
            created: t.dataKeysCreated,
            destroyed: t.dataKeysDestroyed,
            retained: t.dataKeysRetained,
            deferred: t.dataKeysDeferred ?? 0,
          },
          deferredUntil: t.deferredUntil ?? null,
          secrets: t.secrets,
          fields: fieldResults,
          rows,
          tables: (t.secrets > 0 ? 1 : 0) + fieldResults.filter((f) => f.rows > 0).length,
          conflicts: t.conflicts,
          unreadable: t.unreadable,
          unreadableRows: t.unreadableRows,
          durationMs: Math.round(performance.now() - started),
        };
      },
      audit: (job, outcome) =>
        recordEvent(
          this.#audit,
          {
            action: 'key.rotate.data',
            outcome: outcome.ok ? 'ok' : 'error',
            details: {
              jobId: job.id,
              mode: job.mode,
              ...(outcome.ok
                ? {
                    rows: outcome.result.rows,
                    destroyed: job.totals.dataKeysDestroyed,
                    retained: job.totals.dataKeysRetained,
                    passes: Math.min(job.checkpoint.pass + 1, MAX_PASSES),
                  }
                : { code: outcome.stop.code }),
            },
          },
          options,
        ),
    });
  }

  /**
   * Re-encrypts a registered field's legacy rows (plaintext, Fernet, `v2:`) into
   * Lockbox's format. Refuses, changing nothing, with FIELD_NOT_REGISTERED,
   * FIELD_KEY_UNSUITABLE, a key error, INVALID_ARGUMENT (no key and no
   * plaintext), ROTATION_FIRST_ROW_FAILED (the first row of an adopted format
   * does not decode) or ROTATION_IN_PROGRESS.
   */
  async adopt(options: AdoptOptions): Promise<AdoptionResult> {
    const registration = await this.#vault.fields.registration(options.table, options.column);
    const [result] = await this.#adoptFields([registration], options);
    return result as AdoptionResult;
  }

  /**
   * Adopts every registered field (or the ones named) in one job with the same
   * legacy keys: every field's key and first rows are proved before anything is
   * written, then the fields are adopted one after the other under one lock.
   * Refuses as `adopt` does; a refusal of any field changes nothing in any.
   */
  async adoptAll(options: AdoptAllOptions = {}): Promise<AdoptionResult[]> {
    const registrations =
      options.fields === undefined
        ? await this.#vault.fields.list()
        : await Promise.all(
            options.fields.map(async (f) => {
              const found = await this.#vault.fields.find(f.table, f.column);
              if (found !== undefined || options.dryRun !== true || !('primaryKey' in f)) {
                return found ?? this.#vault.fields.registration(f.table, f.column);
              }
              return this.#vault.fields.plan(f);
            }),
          );
    return this.#adoptFields(registrations, options);
  }

  async #adoptFields(
    registrations: readonly FieldRegistration[],
    options: Omit<AdoptOptions, 'table' | 'column'>,
  ): Promise<AdoptionResult[]> {
    const batchSize = batchSizeOf(options.batchSize);
    const decoder = new LegacyDecoder(options);
    try {
      const db = this.#vault.store.db;
      const proved: { table: FieldTable; total: number }[] = [];
      for (const registration of registrations) {
        const table = new FieldTable(registration, this.#vault.store.dialect);
        await table.prepare(db);
        proved.push({ table, total: await proveAdoption(db, table, decoder, batchSize) });
      }
      const run = async (lock: RotationLockHandle | undefined) => {
        const results: AdoptionResult[] = [];
        for (const { table, total } of proved) {
          const started = performance.now();
          const result = {
            ...(await runAdoption({
              db,
              dataKeys: this.#vault.dataKeys,
              table,
              decoder,
              lock,
              batchSize,
              total,
              dryRun: options.dryRun === true,
              onProgress: options.onProgress,
            })),
            durationMs: Math.round(performance.now() - started),
          };
          if (lock !== undefined) {
            await recordEvent(
              this.#audit,
              {
                action: 'field.adopt',
                outcome: 'ok',
                details: {
                  table: result.table,
                  column: result.column,
                  // Counts only; "plaintext" is a forbidden audit key, so the formats are renamed.
                  adoptedFernet: result.adopted.fernet,
                  adoptedV2: result.adopted.v2,
                  adoptedUnencrypted: result.adopted.plaintext,
                  failed: result.failed,
                },
              },
              options,
            );
          }
          results.push(result);
        }
        return results;
      };
      if (options.dryRun === true) return await run(undefined);
      const label = proved.length === 1 ? proved[0]?.table.label : `${proved.length} fields`;
      return await this.#locked(`adopt-${label}`, run);
    } finally {
      decoder.dispose();
    }
  }

  /**
   * Continues the interrupted job. A master rotation needs its old and new keys:
   * given here, or found in the keyring by the job's fingerprints. Throws
   * ROTATION_NOT_FOUND when nothing is unfinished, KEY_NOT_IN_KEYRING when a key
   * is needed, ROTATION_OLD_KEY_MISMATCH when a given key is not the job's.
   */
  async resume(options: ResumeOptions = {}): Promise<MasterRotationResult | DataRekeyResult> {
    const job = await unfinishedJob(this.#vault.store.db);
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
      return this.rekeyData({
        ...common,
        ...(options.fieldGraceMs === undefined ? {} : { fieldGraceMs: options.fieldGraceMs }),
      });
    }
    const key = (given: MasterKeyInput | undefined, fingerprint: string, what: string) => {
      const found =
        given === undefined ? this.#vault.keyring.get(fingerprint) : toMasterKey(given, what);
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
    return this.rotateMaster({
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
  async abandon(actor?: Actor, options: { requestId?: string } = {}): Promise<RotationJob> {
    const db = this.#vault.store.db;
    const abandoned = await this.#locked('abandon', async (lock) => {
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
      this.#audit,
      {
        action: 'key.rotate.abandon',
        outcome: 'ok',
        details: { jobId: abandoned.id, kind: abandoned.kind },
      },
      { ...(actor === undefined ? {} : { actor }), ...options },
    );
    return abandoned;
  }

  async status(): Promise<RotationStatus> {
    const db = this.#vault.store.db;
    return {
      lock: (await rotationLockInfo(this.#vault.store, this.#vault.storeId)) ?? null,
      unfinished: (await unfinishedJob(db)) ?? null,
      recent: await recentJobs(db, 10),
    };
  }

  census(options: CensusOptions = {}): Promise<Census> {
    return census(this.#vault, options);
  }

  /** Throws KEY_STILL_NEEDED unless the master key can leave the keyring. */
  assertKeyDroppable(fingerprint: string): Promise<void> {
    return assertKeyDroppable(this.#vault, fingerprint);
  }
}
