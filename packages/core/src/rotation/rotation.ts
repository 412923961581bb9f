/**
 * The rotation service a Lockbox handle exposes: master rotation, data re-key,
 * legacy field adoption and the job's resume/abandon/status. Each entry point
 * lives in its own module over one RotationContext; this class only binds them.
 */

import type { Actor, AuditSink } from '../vault/audit-sink.js';
import type { Vault } from '../vault/lockbox.js';
import type { AdoptionResult } from './adoption.js';
import { adopt, adoptAll } from './adoption-entry.js';
import { type Census, type CensusOptions, census } from './census.js';
import { rekeyData } from './data-rekey-entry.js';
import { abandon, resume, status } from './job-control.js';
import { assertKeyDroppable } from './key-droppable.js';
import { rotateMaster } from './master-rotation-entry.js';
import { type RotationContext, rotationContext } from './rotation-context.js';
import type { RotationJob } from './rotation-jobs.js';
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

export class Rotation {
  readonly #ctx: RotationContext;

  /**
   * `audit`: where rotation events go (key.rotate.master, key.rotate.data,
   * key.rotate.abandon, field.adopt); openLockbox passes the audit log.
   */
  constructor(vault: Vault, audit?: AuditSink) {
    this.#ctx = rotationContext(vault, audit);
  }

  /**
   * Rewraps every live data key from `oldKey` to `newKey`. Refuses, changing
   * nothing, with KEY_INVALID_* (a key is malformed), KEY_SAME_AS_OLD,
   * ROTATION_OLD_KEY_MISMATCH, ROTATION_FIRST_ROW_FAILED, or ROTATION_IN_PROGRESS
   * (another rotation holds the lock, or a different one is unfinished). Rerun
   * with the same keys after an interruption, it continues the job. On success
   * this instance's keyring becomes: new key primary, old key previous.
   */
  rotateMaster(options: RotateMasterOptions): Promise<MasterRotationResult> {
    return rotateMaster(this.#ctx, options);
  }

  /**
   * Re-keys data: new data keys for every user scope, every secret and field row
   * re-encrypted, old data keys destroyed once no row needs them. Refuses,
   * changing nothing, with ROTATION_FIRST_ROW_FAILED when a data key or the first
   * secret or field row does not open, and ROTATION_IN_PROGRESS.
   */
  rekeyData(options: RekeyDataOptions = {}): Promise<DataRekeyResult> {
    return rekeyData(this.#ctx, options);
  }

  /**
   * Re-encrypts a registered field's legacy rows (plaintext, Fernet, `v2:`) into
   * Lockbox's format. Refuses, changing nothing, with FIELD_NOT_REGISTERED,
   * FIELD_KEY_UNSUITABLE, a key error, INVALID_ARGUMENT (no key and no
   * plaintext), ROTATION_FIRST_ROW_FAILED (the first row of an adopted format
   * does not decode) or ROTATION_IN_PROGRESS.
   */
  adopt(options: AdoptOptions): Promise<AdoptionResult> {
    return adopt(this.#ctx, options);
  }

  /**
   * Adopts every registered field (or the ones named) in one job with the same
   * legacy keys: every field's key and first rows are proved before anything is
   * written, then the fields are adopted one after the other under one lock.
   * Refuses as `adopt` does; a refusal of any field changes nothing in any.
   */
  adoptAll(options: AdoptAllOptions = {}): Promise<AdoptionResult[]> {
    return adoptAll(this.#ctx, options);
  }

  /**
   * Continues the interrupted job. A master rotation needs its old and new keys:
   * given here, or found in the keyring by the job's fingerprints. Throws
   * ROTATION_NOT_FOUND when nothing is unfinished, KEY_NOT_IN_KEYRING when a key
   * is needed, ROTATION_OLD_KEY_MISMATCH when a given key is not the job's.
   */
  resume(options: ResumeOptions = {}): Promise<MasterRotationResult | DataRekeyResult> {
    return resume(this.#ctx, options);
  }

  /**
   * Gives up the unfinished job (it will not be resumed). Always safe: a master
   * rotation leaves data keys under the old or the new key (keep both in the
   * keyring until `lockbox doctor` says otherwise); a data re-key leaves retiring
   * keys intact, and the next re-key destroys them. Throws ROTATION_NOT_FOUND or
   * ROTATION_IN_PROGRESS (its process is still running). Audited as
   * key.rotate.abandon (the job's id and kind).
   */
  abandon(actor?: Actor, options: { requestId?: string } = {}): Promise<RotationJob> {
    return abandon(this.#ctx, actor, options);
  }

  status(): Promise<RotationStatus> {
    return status(this.#ctx);
  }

  census(options: CensusOptions = {}): Promise<Census> {
    return census(this.#ctx.vault, options);
  }

  /** Throws KEY_STILL_NEEDED unless the master key can leave the keyring. */
  assertKeyDroppable(fingerprint: string): Promise<void> {
    return assertKeyDroppable(this.#ctx.vault, fingerprint);
  }
}
