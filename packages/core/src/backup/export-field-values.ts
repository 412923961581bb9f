/**
 * The field values of an export: every registered field's Lockbox ciphertexts,
 * decrypted, with their rows' keys, as field value records (field-record.ts).
 *
 * Contracts (inside the export's consistent read, `trx`):
 * - `planFieldExport` checks each field's row key against its table (the walk
 *   relies on it; FIELD_KEY_UNSUITABLE otherwise) and counts what will be
 *   written, so the header can state it; the records that follow are exactly
 *   those counts, because the read is one snapshot.
 * - Only values that are Lockbox ciphertext ("lb1:") travel: NULLs are nothing
 *   to carry, and a value not adopted yet (plaintext, Fernet, `v2:`) is the
 *   application's own data in a format Lockbox does not own — counted as
 *   `notLockbox` in the summary, never exported.
 * - A value that cannot be decrypted aborts the export (SECRET_UNDECRYPTABLE,
 *   naming table, column and row key), as a secret does: a backup never misses
 *   data silently. So does one larger than an import accepts by default
 *   (VALUE_TOO_LARGE) or a row key over MAX_ROW_KEY_BYTES.
 * - Plaintext is held one page at a time and wiped after encoding.
 */
import type { Kysely } from 'kysely';
import { LockboxError } from '../errors.js';
import { FieldTable, type KeyValues } from '../rotation/field-table.js';
import type { DialectName } from '../store/connect.js';
import type { LockboxSchema } from '../store/schema.js';
import type { DataKeys } from '../vault/data-keys.js';
import { openFieldValue } from '../vault/field-ciphertext.js';
import type { FieldRegistration, Fields } from '../vault/fields.js';
import { DEFAULT_MAX_VALUE_BYTES } from '../vault/secrets.js';
import { isWellFormedText } from '../vault/text-input.js';
import type { BundleField } from './bundle-format.js';
import { encodeFieldRecord, MAX_ROW_KEY_BYTES } from './field-record.js';
import { jsonLine } from './json-lines.js';

export interface FieldExportSummary {
  table: string;
  column: string;
  /** Values exported. */
  values: number;
  /** Non-null values that are not Lockbox ciphertext (not adopted yet): not exported. */
  notLockbox: number;
}

export interface FieldExport {
  table: FieldTable;
  summary: FieldExportSummary;
}

/** The fields an export carries: all registered ones, or those whose scope is listed. */
export async function planFieldExport(
  trx: Kysely<LockboxSchema>,
  dialect: DialectName,
  fields: Pick<Fields, 'list'>,
  scopes: readonly string[] | undefined,
): Promise<FieldExport[]> {
  const registrations = (await fields.list(trx)).filter(
    (f) => scopes === undefined || scopes.includes(f.scope),
  );
  const plans: FieldExport[] = [];
  for (const registration of registrations) {
    const table = new FieldTable(registration, dialect);
    await table.prepare(trx);
    plans.push({
      table,
      summary: {
        table: registration.table,
        column: registration.column,
        values: await table.count(trx, 'lockbox'),
        notLockbox: await table.count(trx, 'legacy'),
      },
    });
  }
  return plans;
}

/** The header's `fields` entries. */
export function headerFields(plans: readonly FieldExport[]): BundleField[] {
  return plans.map(({ table, summary }) => ({
    table: table.field.table,
    column: table.field.column,
    primaryKey: [...table.field.primaryKey],
    values: summary.values,
  }));
}

/** Bytes as a record value: text when they are UTF-8 that round-trips, else bytes (base64). */
function recordValue(plaintext: Buffer): string | Buffer {
  const text = plaintext.toString('utf8');
  if (isWellFormedText(text) && Buffer.byteLength(text, 'utf8') === plaintext.length) {
    if (Buffer.from(text, 'utf8').equals(plaintext)) return text;
  }
  return Buffer.from(plaintext);
}

function refuseOversized(field: FieldRegistration, key: KeyValues, plaintext: Buffer): void {
  const keyBytes = key.reduce((n, v) => n + Buffer.byteLength(v, 'utf8'), 0);
  if (keyBytes > MAX_ROW_KEY_BYTES) {
    throw new LockboxError(
      'VALUE_TOO_LARGE',
      `a row key of ${field.table}.${field.column} is larger than ${MAX_ROW_KEY_BYTES} bytes, which a bundle cannot carry; nothing was exported`,
      { details: { table: field.table, column: field.column, limit: MAX_ROW_KEY_BYTES } },
    );
  }
  if (plaintext.length > DEFAULT_MAX_VALUE_BYTES) {
    throw new LockboxError(
      'VALUE_TOO_LARGE',
      `a value of ${field.table}.${field.column} is larger than ${DEFAULT_MAX_VALUE_BYTES} bytes, which an import refuses; nothing was exported`,
      { details: { table: field.table, column: field.column, limit: DEFAULT_MAX_VALUE_BYTES } },
    );
  }
}

/**
 * The field value records of `plans`, one page of text at a time, in field
 * order then row-key order. Calls `onPage` with the records in each page.
 */
export async function* fieldValueLines(
  trx: Kysely<LockboxSchema>,
  dataKeys: DataKeys,
  plans: readonly FieldExport[],
  pageSize: number,
  onPage: (records: number) => void,
): AsyncGenerator<string> {
  for (const { table, summary } of plans) {
    const field = table.field;
    let after: KeyValues | null = null;
    let read = 0;
    for (;;) {
      const rows = await table.readBatch(trx, 'lockbox', after, pageSize);
      let text = '';
      for (const row of rows) {
        const plaintext = await openFieldValue(
          dataKeys,
          { ...field, values: row.key },
          row.value,
          trx,
        );
        refuseOversized(field, row.key, plaintext);
        const value = recordValue(plaintext);
        text += jsonLine(
          encodeFieldRecord({
            table: field.table,
            column: field.column,
            keyColumns: [...field.primaryKey],
            keyValues: [...row.key],
            value,
          }),
        );
        plaintext.fill(0);
        if (typeof value !== 'string') value.fill(0);
      }
      read += rows.length;
      if (rows.length > 0) {
        yield text;
        onPage(rows.length);
        after = rows[rows.length - 1]!.key;
      }
      if (rows.length < pageSize) break;
    }
    if (read !== summary.values) {
      throw new LockboxError(
        'INTERNAL',
        `the export read ${read} values of ${table.label} but counted ${summary.values}; nothing was exported`,
        { details: { table: field.table, column: field.column, read, expected: summary.values } },
      );
    }
  }
}
