/**
 * Row keys: the values of a field's key columns that identify one row of the
 * application's table, and that every field ciphertext is bound to.
 *
 * A row key is given as an object naming every key column (`{ user_id: 42,
 * provider: 'github' }`) or, for a one-column key, as the bare value. Each value
 * is bound as its canonical text, the way the database prints it
 * (`CAST(col AS text)`): integers in decimal, text as it is. Rotation reads keys
 * from the database in exactly that form, so an application must pass values
 * that print the same (for a PostgreSQL uuid the lowercase form, for a numeric
 * its scale, "1.50"). JavaScript numbers must be safe integers: a larger integer
 * would already have lost digits, so pass it as a bigint or a string.
 */
import { LockboxError } from '../errors.js';

/** One key column's value. */
export type RowKeyValue = string | number | bigint;

/** Kept for callers of one-column fields: the value of the key column. */
export type RowId = RowKeyValue;

/** A row key: the value of a one-column key, or an object with one entry per key column. */
export type RowKey = RowKeyValue | Readonly<Record<string, RowKeyValue>>;

function invalid(message: string, details: Record<string, unknown>): LockboxError {
  return new LockboxError('FIELD_ROW_KEY_INVALID', message, { details });
}

/** A value's canonical text; throws FIELD_ROW_KEY_INVALID for anything else. */
export function rowKeyValueText(value: unknown, column: string, label: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString(10);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  throw invalid(
    `${label}: the value of key column ${column} must be a string, a bigint or a safe integer`,
    { column, type: typeof value },
  );
}

/**
 * The key's values as canonical text, in the order of `columns`. Throws
 * FIELD_ROW_KEY_INVALID when an object does not name exactly the key columns, or
 * a bare value is given for a key of several columns.
 */
export function rowKeyValues(columns: readonly string[], key: RowKey, label: string): string[] {
  if (typeof key !== 'object' || key === null) {
    if (columns.length !== 1) {
      throw invalid(
        `${label} is keyed by ${columns.join(', ')}: give the row key as an object naming each column`,
        { keyColumns: columns },
      );
    }
    return [rowKeyValueText(key, columns[0] as string, label)];
  }
  const given = Object.keys(key);
  const missing = columns.filter((c) => !Object.hasOwn(key, c));
  const extra = given.filter((c) => !columns.includes(c));
  if (missing.length > 0 || extra.length > 0) {
    throw invalid(
      `${label} is keyed by ${columns.join(', ')}; the row key given ${missing.length > 0 ? `lacks ${missing.join(', ')}` : ''}${missing.length > 0 && extra.length > 0 ? ' and ' : ''}${extra.length > 0 ? `names ${extra.join(', ')}, which are not key columns` : ''}`,
      { keyColumns: columns, missing, extra },
    );
  }
  return columns.map((c) => rowKeyValueText(key[c], c, label));
}

/** "user_id=42, provider=github" (or "42" for a one-column key), for messages and audit entries. */
export function describeRowKey(columns: readonly string[], values: readonly string[]): string {
  if (columns.length === 1) return values[0] ?? '';
  return columns.map((c, i) => `${c}=${values[i] ?? ''}`).join(', ');
}
