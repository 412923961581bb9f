/**
 * lockbox_master_keys: which master keys this store knows (by fingerprint) and
 * whether each is still active. Every write goes through `writeMasterKeyRecord`,
 * which MACs the row under the integrity key; every read that decides something
 * goes through `readMasterKeyRecords` / `masterKeyRecord`, which never return a
 * row that fails its check (they report it instead).
 */
import { LockboxError } from '../errors.js';
import { anyDataKeyUnder, masterFingerprintsOfLiveDataKeys } from '../store/data-key-state-rows.js';
import type { Executor } from '../store/executor.js';
import {
  allMasterKeyRows,
  lockMasterKeyRow,
  type MasterKeyRow,
  masterKeyRow,
  upsertMasterKeyRow,
} from '../store/master-key-rows.js';
import type { IntegrityKey } from './integrity-key.js';
import { MASTER_KEY_MAC, rowMac, rowVerifies } from './row-macs.js';

type Db = Executor;

export type MasterKeyRecord = Omit<MasterKeyRow, 'mac'>;

export interface MasterKeyRecords {
  /** Records whose MAC verifies. */
  valid: MasterKeyRecord[];
  /** Fingerprints of records that fail their check (never used). */
  broken: string[];
}

/** Inserts or replaces the record of `fingerprint`, MACed. */
export async function writeMasterKeyRecord(
  db: Db,
  key: IntegrityKey,
  record: MasterKeyRecord,
): Promise<void> {
  const mac = rowMac(key, MASTER_KEY_MAC, record);
  await upsertMasterKeyRow(db, { ...record, mac });
}

export async function readMasterKeyRecords(db: Db, key: IntegrityKey): Promise<MasterKeyRecords> {
  const rows = await allMasterKeyRows(db);
  const valid: MasterKeyRecord[] = [];
  const broken: string[] = [];
  for (const { mac, ...record } of rows) {
    if (rowVerifies(key, MASTER_KEY_MAC, record, mac)) valid.push(record);
    else broken.push(record.fingerprint);
  }
  return { valid, broken: broken.sort() };
}

/**
 * The record of one fingerprint: undefined when there is none; throws
 * INTEGRITY_CHECK_FAILED when it fails its check.
 */
export async function masterKeyRecord(
  db: Db,
  key: IntegrityKey,
  fingerprint: string,
): Promise<MasterKeyRecord | undefined> {
  const row = await masterKeyRow(db, fingerprint);
  if (row === undefined) return undefined;
  const { mac, ...record } = row;
  if (!rowVerifies(key, MASTER_KEY_MAC, record, mac)) {
    throw integrityFailure(MASTER_KEY_MAC.table, fingerprint);
  }
  return record;
}

/** The error for a row that fails its integrity check: names the table and row, never values. */
export function integrityFailure(table: string, rowId: string): LockboxError {
  return new LockboxError(
    'INTEGRITY_CHECK_FAILED',
    `row ${rowId} of ${table} fails its integrity check (it was changed outside Lockbox); it is not used; see lockbox doctor`,
    { details: { table, rowId } },
  );
}

/**
 * Before a data key is made under `fingerprint` (this instance's primary): takes
 * the record's row lock (the write lock on SQLite), so a rotation retiring the key
 * (which takes it too, see master-rotation.ts) is ordered before or after, then
 * returns the record (undefined: none yet; the caller writes one). Throws
 * MASTER_KEY_RETIRED when another instance's rotation retired it, and
 * INTEGRITY_CHECK_FAILED when the record fails its check.
 */
export async function usablePrimaryRecord(
  trx: Db,
  key: IntegrityKey,
  fingerprint: string,
  scope: string,
): Promise<MasterKeyRecord | undefined> {
  await lockMasterKeyRow(trx, fingerprint);
  const record = await masterKeyRecord(trx, key, fingerprint);
  if (record?.state === 'retired') {
    throw new LockboxError(
      'MASTER_KEY_RETIRED',
      `master key ${fingerprint}, this instance's primary, was retired by a rotation; no data key of scope "${scope}" is made under it; restart this instance with the new primary key`,
      { details: { fingerprint, scope } },
    );
  }
  return record;
}

/**
 * Whether the store knows `fingerprint` at all: a record of it, or any data
 * key still wrapped under it. Unauthenticated on purpose (it is asked without
 * trusting the rows): a caller uses it only to decide that a key file is safe
 * to delete, and a data key wrapped under the key keeps the file even when
 * someone removed the record by hand.
 */
export async function masterKeyKnown(db: Db, fingerprint: string): Promise<boolean> {
  if ((await masterKeyRow(db, fingerprint)) !== undefined) return true;
  return anyDataKeyUnder(db, fingerprint);
}

/** Fingerprints of the master keys wrapping live (not destroyed) data keys, sorted. */
export async function fingerprintsWrappingLiveDataKeys(db: Db): Promise<string[]> {
  return (await masterFingerprintsOfLiveDataKeys(db)).sort();
}
