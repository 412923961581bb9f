/**
 * Adoption: a registered field whose rows hold plaintext, Fernet tokens or `v2:`
 * values (an application's data from before Lockbox, under its one
 * ENCRYPTION_KEY) is re-encrypted into Lockbox's format, row by row, with
 * compare-and-swap on the legacy value.
 *
 * Prove before touching: the first row of each format being adopted is decoded
 * with the given keys before anything is written (ROTATION_FIRST_ROW_FAILED
 * otherwise). Later rows that do not decode are left exactly as they are and
 * reported (row id, format, code), never guessed at: a value that looks like a
 * Fernet token but does not open is not re-labelled as plaintext.
 *
 * Adoption is idempotent: adopted rows start with "lb1:" and are not selected
 * again, so a rerun after a crash continues with the rows that remain. The bytes
 * re-encrypted are exactly the bytes the legacy value held, so the application
 * reads back the identical value through fields.decrypt.
 */
import type { Kysely } from 'kysely';
import { encryptToText } from '../crypto/ciphertext.js';
import { detectLegacyFormat, type LegacyFormat } from '../crypto/legacy/detect-legacy-format.js';
import { isLockboxError, LockboxError } from '../errors.js';
import type { LockboxSchema } from '../store/schema.js';
import type { DataKeys } from '../vault/data-keys.js';
import { withBatchTransactions } from './batch-transactions.js';
import type { FieldTable, KeyValues } from './field-table.js';
import type { LegacyDecoder } from './legacy-decoder.js';
import type { RotationLockHandle } from './rotation-lock.js';
import type { ProgressListener } from './rotation-progress.js';

type Db = Kysely<LockboxSchema>;

const MAX_LISTED = 20;

export interface AdoptionCounts {
  fernet: number;
  v2: number;
  plaintext: number;
}

export interface AdoptionResult {
  table: string;
  column: string;
  scope: string;
  dryRun: boolean;
  /** Rows re-encrypted into "lb1:" (in a dry run: rows that would be). */
  adopted: AdoptionCounts;
  /** Rows left alone because no key was given for their format (or plaintext was not asked for). */
  skipped: AdoptionCounts & { otherLockboxFormat: number };
  /** Rows whose value did not decode with the given keys, left as they are. */
  failed: number;
  failedRows: { row: string; format: LegacyFormat; code: string }[];
  /** Rows the application rewrote between read and write (left as it wrote them). */
  conflicts: number;
  durationMs: number;
}

/** Decodes the first row of each adopted format; throws ROTATION_FIRST_ROW_FAILED. Read-only. */
export async function proveAdoption(
  db: Db,
  table: FieldTable,
  decoder: LegacyDecoder,
  batchSize: number,
): Promise<number> {
  const pending = new Set<LegacyFormat>(
    (['fernet', 'v2', 'plaintext'] as const).filter((f) => decoder.handles(f)),
  );
  let after: KeyValues | null = null;
  let legacyRows = 0;
  for (;;) {
    const rows = await table.readBatch(db, 'legacy', after, batchSize);
    legacyRows += rows.length;
    for (const row of rows) {
      const format = detectLegacyFormat(row.value);
      if (!pending.has(format)) continue;
      pending.delete(format);
      try {
        decoder.decode(format, row.value).fill(0);
      } catch (err) {
        const reason = isLockboxError(err) ? err.code : 'INTERNAL';
        throw new LockboxError(
          'ROTATION_FIRST_ROW_FAILED',
          `the first ${format} row of ${table.label} (row ${table.describe(row.key)}) does not decrypt with the given ${format} key(s) (${reason}); nothing was changed`,
          {
            cause: err,
            details: {
              table: table.field.table,
              column: table.field.column,
              rowId: table.describe(row.key),
              format,
              reason,
            },
          },
        );
      }
    }
    if (rows.length < batchSize) return legacyRows;
    after = rows[rows.length - 1]!.key;
  }
}

export interface AdoptionRunOptions {
  db: Db;
  dataKeys: DataKeys;
  table: FieldTable;
  decoder: LegacyDecoder;
  lock: RotationLockHandle | undefined;
  batchSize: number;
  /** Legacy rows counted by the proof, for progress. */
  total: number;
  dryRun: boolean;
  onProgress: ProgressListener | undefined;
}

export async function runAdoption(
  options: AdoptionRunOptions,
): Promise<Omit<AdoptionResult, 'durationMs'>> {
  const { db, table, decoder, batchSize } = options;
  const { table: name, column, scope } = table.field;
  const result: Omit<AdoptionResult, 'durationMs'> = {
    table: name,
    column,
    scope,
    dryRun: options.dryRun,
    adopted: { fernet: 0, v2: 0, plaintext: 0 },
    skipped: { fernet: 0, v2: 0, plaintext: 0, otherLockboxFormat: 0 },
    failed: 0,
    failedRows: [],
    conflicts: 0,
  };
  let after: KeyValues | null = null;
  let done = 0;
  const begin = async (trx: Db) => {
    await options.lock?.touch(trx);
  };
  await withBatchTransactions(db, 'online', begin, async (batches) => {
    for (;;) {
      const read = await batches.run(async (trx) => {
        const rows = await table.readBatch(trx, 'legacy', after, batchSize);
        // A dry run writes nothing, not even the scope's first data key.
        const key = options.dryRun ? undefined : await options.dataKeys.activeFor(scope, trx);
        const updates: { key: KeyValues; expected: string; next: string }[] = [];
        const formats: LegacyFormat[] = [];
        for (const row of rows) {
          const format = detectLegacyFormat(row.value);
          if (format === 'lockbox') {
            result.skipped.otherLockboxFormat += 1;
            continue;
          }
          if (!decoder.handles(format)) {
            result.skipped[format] += 1;
            continue;
          }
          let plaintext: Buffer;
          try {
            plaintext = decoder.decode(format, row.value);
          } catch (err) {
            if (!isLockboxError(err)) throw err;
            result.failed += 1;
            if (result.failedRows.length < MAX_LISTED) {
              result.failedRows.push({ row: table.describe(row.key), format, code: err.code });
            }
            continue;
          }
          const context = table.context(row.key);
          const next =
            key === undefined ? '' : encryptToText(key.idBytes, key.key, plaintext, context);
          plaintext.fill(0);
          updates.push({ key: row.key, expected: row.value, next });
          formats.push(format);
        }
        // One swap per format, so the counts say exactly which rows were adopted.
        for (const format of ['fernet', 'v2', 'plaintext'] as const) {
          const group = updates.filter((_, i) => formats[i] === format);
          const swapped = options.dryRun ? group.length : await table.compareAndSwap(trx, group);
          result.adopted[format] += swapped;
          result.conflicts += group.length - swapped;
        }
        if (rows.length > 0) after = rows[rows.length - 1]!.key;
        return rows.length;
      });
      done += read;
      options.onProgress?.({
        phase: 'adopt',
        done,
        total: Math.max(options.total, done),
        table: table.label,
      });
      if (read < batchSize) return;
    }
  });
  return result;
}
