/**
 * A row key as field requests send it (`{ column: value, … }`), checked against
 * the field's registered row-key columns.
 *
 * The key must name exactly the registered columns — no more, no fewer — so a
 * client cannot bind a ciphertext to a row identity the field does not have. A
 * mismatch is INVALID_ARGUMENT naming the columns expected (never a value).
 */
import {
  type RowKey as CoreRowKey,
  type FieldRegistration,
  LockboxError,
  type RowId,
} from '@lockbox/core';

export type RowKey = Record<string, string | number>;

/** The registered row-key columns, whether the registration holds one or several. */
export function rowKeyColumns(registration: Pick<FieldRegistration, 'primaryKey'>): string[] {
  const key: string | readonly string[] = registration.primaryKey;
  return typeof key === 'string' ? [key] : [...key];
}

/**
 * The row key core's fields API binds for this key: the bare value for a
 * one-column key, the object itself for a key of several columns (core binds
 * every column, field context v2). Throws INVALID_ARGUMENT when the key's
 * columns are not exactly the field's row-key columns.
 */
export function rowIdOf(
  registration: Pick<FieldRegistration, 'table' | 'column' | 'primaryKey'>,
  key: RowKey,
): CoreRowKey {
  const expected = rowKeyColumns(registration);
  const given = Object.keys(key);
  const matches =
    given.length === expected.length && expected.every((column) => Object.hasOwn(key, column));
  const first = expected[0];
  if (!matches || first === undefined) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      `the key of ${registration.table}.${registration.column} must give exactly its row-key column(s): ${expected.join(', ')}`,
      { details: { table: registration.table, column: registration.column, expected } },
    );
  }
  return expected.length === 1 ? (key[first] as RowId) : key;
}
