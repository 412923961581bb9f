/**
 * What rotations take and what they report: the options and results of
 * Rotation's methods. Results hold counts and fingerprints only, never a key or
 * a value, so they can be printed, logged and returned over the API as they are.
 */
import type { Actor } from '../vault/audit-sink.js';
import type { UnreadableRow } from './data-rekey.js';
import type { LegacyKeys } from './legacy-decoder.js';
import type { MasterKeyInput } from './master-key-input.js';
import type { RotationJob } from './rotation-jobs.js';
import type { RotationLockInfo } from './rotation-lock.js';
import type { RotationMode, RotationModeChoice } from './rotation-mode.js';
import type { ProgressListener } from './rotation-progress.js';

export interface CommonOptions {
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

export interface RotateMasterOptions extends CommonOptions {
  oldKey: MasterKeyInput;
  newKey: MasterKeyInput;
}

export interface RekeyDataOptions extends CommonOptions {}

export interface AdoptOptions extends LegacyKeys, Omit<CommonOptions, 'mode'> {
  table: string;
  column: string;
}

export interface ResumeOptions extends Omit<CommonOptions, 'mode' | 'dryRun'> {
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
  dataKeys: { retired: number; created: number; destroyed: number; retained: number };
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
