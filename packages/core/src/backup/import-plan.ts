/**
 * What importing a batch of bundle records would do, decided against the target
 * store before anything is written (preview reports it, apply writes by it):
 *   create     — the target has no secret at that scope and name
 *   unchanged  — the target holds the same value, type and metadata
 *   conflict   — the target differs and was changed after the bundle's record
 *                (its updated_at is later than the record's updatedAt), or the
 *                target's value cannot be decrypted: overwriting would lose
 *                something nobody has seen
 *   overwrite  — the target differs and is not newer (or the record has no updatedAt)
 * and which of those a conflict policy writes.
 */
import { LockboxError } from '../errors.js';
import type { Executor } from '../store/executor.js';
import { readSecretsAt, type StoredVersion } from '../store/secret-rows.js';
import type { DataKeys } from '../vault/data-keys.js';
import { openSecretRow } from '../vault/secret-row-codec.js';
import type { BundleRecord } from './bundle-format.js';
import { canonicalJson } from './canonical-json.js';

export type ConflictPolicy = 'skip' | 'overwrite' | 'fail';
export type ImportAction = 'create' | 'overwrite' | 'unchanged' | 'conflict';
export const CONFLICT_POLICIES: readonly ConflictPolicy[] = ['skip', 'overwrite', 'fail'];

export interface ImportConflict {
  scope: string;
  name: string;
  reason: 'newer-in-target' | 'undecryptable-in-target';
}

export interface Classified {
  record: BundleRecord;
  action: ImportAction;
  /** The target's row when there is one: an overwrite stores the next version, bound into its ciphertext. */
  stored?: StoredVersion;
  /** Why it is a conflict. */
  conflict?: ImportConflict['reason'];
}

function pairKey(scope: string, name: string): string {
  return `${scope}\u0000${name}`;
}

function sameValue(record: BundleRecord, type: string, stored: Buffer): boolean {
  const recordType = typeof record.value === 'string' ? 'utf8' : 'bytes';
  if (recordType !== type) return false;
  const bytes = typeof record.value === 'string' ? Buffer.from(record.value, 'utf8') : record.value;
  return bytes.equals(stored);
}

/**
 * Classifies `records` against the target's rows, read in `db`. With `lock`
 * (apply on PostgreSQL) the rows are locked so the classification holds until
 * the import commits.
 */
export async function classifyRecords(
  db: Executor,
  dataKeys: DataKeys,
  records: readonly BundleRecord[],
  lock: boolean,
): Promise<Classified[]> {
  const existing = new Map(
    (await readSecretsAt(db, records, lock)).map((row) => [pairKey(row.scope, row.name), row]),
  );
  const classified: Classified[] = [];
  for (const record of records) {
    const row = existing.get(pairKey(record.scope, record.name));
    if (row === undefined) {
      classified.push({ record, action: 'create' });
      continue;
    }
    const target = { version: Number(row.version), createdAt: row.created_at };
    let stored: Buffer;
    try {
      stored = await openSecretRow(dataKeys, row, db);
    } catch (err) {
      if (!(err instanceof LockboxError)) throw err;
      classified.push({
        record,
        action: 'conflict',
        stored: target,
        conflict: 'undecryptable-in-target',
      });
      continue;
    }
    const same =
      sameValue(record, row.value_type, stored) &&
      canonicalJson(record.metadata) ===
        canonicalJson(row.metadata === null ? null : JSON.parse(row.metadata));
    stored.fill(0);
    if (same) {
      classified.push({ record, action: 'unchanged', stored: target });
    } else if (
      record.updatedAt !== undefined &&
      Date.parse(row.updated_at) > Date.parse(record.updatedAt)
    ) {
      classified.push({ record, action: 'conflict', stored: target, conflict: 'newer-in-target' });
    } else {
      classified.push({ record, action: 'overwrite', stored: target });
    }
  }
  return classified;
}

/**
 * Whether apply writes a record of this class under the policy: `skip` writes
 * only creates; `overwrite` writes creates, overwrites and conflicts; `fail`
 * writes creates and overwrites (and refuses the whole import if there is any
 * conflict). Unchanged records are never written.
 */
export function writtenUnder(policy: ConflictPolicy, action: ImportAction): boolean {
  switch (policy) {
    case 'skip':
      return action === 'create';
    case 'overwrite':
      return action !== 'unchanged';
    case 'fail':
      return action === 'create' || action === 'overwrite';
  }
}
