/**
 * What rotations take and what they report: the options and results of
 * Rotation's methods. Results hold counts and fingerprints only, never a key or
 * a value, so they can be printed, logged and returned over the API as they are.
 */

import { LockboxError } from '../errors.js';
import type { Actor } from '../vault/audit-sink.js';
import type { FieldRegistration } from '../vault/fields.js';
import type { UnreadableRow } from './checkpoint.js';
import type { LegacyKeys } from './legacy-decoder.js';
import type { MasterKeyInput } from './master-key-input.js';
import type { RotationJob } from './rotation-jobs.js';
import type { RotationLockInfo } from './rotation-lock.js';
import type { RotationMode, RotationModeChoice } from './rotation-mode.js';
import type { ProgressListener } from './rotation-progress.js';

export interface RotationOptions {
  /** 'auto' (default): atomic when the work is small, online otherwise (see rotation-mode.ts). */
  mode?: RotationModeChoice;
  batchSize?: number;
  /** Prove and count, write nothing. */
  dryRun?: boolean;
  onProgress?: ProgressListener;
  actor?: Actor;
  /** Recorded on the audit entries (the HTTP request id, for instance). */
  requestId?: string;
}

export interface RotateMasterOptions extends RotationOptions {
  oldKey: MasterKeyInput;
  newKey: MasterKeyInput;
}

/** How long a retiring data key of a field's scope outlives its switch by default: 15 minutes. */
export const DEFAULT_FIELD_GRACE_MS = 15 * 60_000;

export interface RekeyDataOptions extends RotationOptions {
  /**
   * How long (ms) a retiring data key of a registered field's scope is kept after
   * the switch before it may be destroyed (default DEFAULT_FIELD_GRACE_MS). An
   * application that encrypted a field value just before the switch and stores it
   * later still finds the key; `finish` then re-encrypts such rows and destroys it.
   */
  fieldGraceMs?: number;
  /**
   * Finish an earlier re-key instead of starting one: no new data keys; a
   * verification pass re-encrypts rows still on retiring keys, then the retiring
   * keys whose grace period has passed are destroyed.
   */
  finish?: boolean;
}

/** Validates fieldGraceMs; throws INVALID_ARGUMENT. */
export function fieldGraceMsOf(value: number | undefined): number {
  if (value === undefined) return DEFAULT_FIELD_GRACE_MS;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LockboxError('INVALID_ARGUMENT', 'fieldGraceMs must be a non-negative integer');
  }
  return value;
}

export interface AdoptOptions extends LegacyKeys, Omit<RotationOptions, 'mode'> {
  table: string;
  column: string;
}

export interface AdoptAllOptions extends LegacyKeys, Omit<RotationOptions, 'mode'> {
  /**
   * The fields to adopt (default: every registered field). A full registration
   * (with `primaryKey` and `scope`) of a field not registered yet is accepted in a
   * dry run only, to show what adopting a field about to be registered would do;
   * otherwise every field must be registered (FIELD_NOT_REGISTERED).
   */
  fields?: readonly ({ table: string; column: string } | FieldRegistration)[];
}

export interface ResumeOptions extends Omit<RotationOptions, 'mode' | 'dryRun'> {
  /** For a data re-key: see RekeyDataOptions.fieldGraceMs. */
  fieldGraceMs?: number;
  /** For a master rotation; default: the key in the keyring with the job's fingerprint. */
  oldKey?: MasterKeyInput;
  newKey?: MasterKeyInput;
}

export interface ResultBase {
  jobId: string | null;
  dryRun: boolean;
  mode: RotationMode;
  /** Why this mode, e.g. "atomic: 120 data keys (≤ 10,000, …)". */
  modeReason: string;
  /** True when this call continued an interrupted job. */
  resumed: boolean;
  durationMs: number;
}

export interface MasterRotationResult extends ResultBase {
  kind: 'master';
  from: string;
  to: string;
  dataKeys: {
    /** Live data keys under the old key when the job started. */
    planned: number;
    /** Rewrapped by the job (across all its runs). */
    rewrapped: number;
    /** Still under the old key (created meanwhile by an instance whose primary it is). */
    remaining: number;
  };
  /** True when no data key needs the old key any more (it is recorded as retired). */
  oldKeyRetired: boolean;
}

export interface DataRekeyResult extends ResultBase {
  kind: 'data';
  scopes: number;
  dataKeys: {
    retired: number;
    created: number;
    destroyed: number;
    retained: number;
    /** Retiring keys of field scopes kept until their grace period ends. */
    deferred: number;
  };
  /** When the last deferred key may be destroyed (`rekeyData({ finish: true })` after it), or null. */
  deferredUntil: string | null;
  secrets: number;
  fields: { table: string; column: string; rows: number }[];
  /** Rows re-encrypted in all (secrets and field rows). */
  rows: number;
  /** Tables with re-encrypted rows (lockbox_secrets counts as one). */
  tables: number;
  conflicts: number;
  unreadable: number;
  unreadableRows: UnreadableRow[];
}

export interface RotationStatus {
  /** Who holds the rotation lock (live false: a dead holder the next run takes over). */
  lock: RotationLockInfo | null;
  /** The job that has not finished (interrupted, or running under the lock). */
  unfinished: RotationJob | null;
  recent: RotationJob[];
}
