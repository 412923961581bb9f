/**
 * Fields: columns of the application's own tables that hold Lockbox ciphertext.
 *
 * A field must be registered (table, column, row-key columns) before it can be
 * encrypted, so that rotation can always find every ciphertext Lockbox made. Each
 * value is bound to its table, column and row key (every key column's value): copied
 * into another row or column, it fails to decrypt. The row key must therefore be
 * known before the row is written (a UUID, or an id allocated first).
 *
 * Its rows are in lockbox_fields (store/field-rows.ts); this module writes them
 * (writeRegistration, used by register and by snapshot restore; remove). A
 * registration's key columns are stored in `primary_key` joined by commas (column
 * names are plain identifiers, which never contain one); a one-column key is
 * stored as before, so existing registrations read unchanged.
 *
 * A registration decides where a field's ciphertext lives and which scope's key
 * encrypts it, so each row is MACed under the integrity key (row-macs.ts
 * FIELD_MAC, over the row as stored, key columns joined as above); `registration`,
 * `find` and `list` throw INTEGRITY_CHECK_FAILED, naming the table and column,
 * for a row that fails its check — it is never used, and a rotation refuses to
 * run rather than walk a redirected field. Registering the field again (the
 * operator stating its values) writes a fresh MAC.
 */
import { type Kysely, sql } from 'kysely';
import { nowIso } from '../clock.js';
import { CIPHERTEXT_TAG } from '../crypto/ciphertext.js';
import { fieldContext } from '../crypto/context.js';
import { LockboxError } from '../errors.js';
import type { DialectName } from '../store/connect.js';
import {
  allFieldRows,
  deleteFieldRow,
  type FieldRow,
  fieldRow,
  writeFieldRow,
} from '../store/field-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import type { DataKeys } from './data-keys.js';
import { openFieldValue, sealFieldValue } from './field-ciphertext.js';
import type { IntegrityKey } from './integrity-key.js';
import { integrityFailure } from './master-key-records.js';
import { validateIdentifier, validateScope, validateUserScope } from './names.js';
import { type RowKey, rowKeyValues } from './row-key.js';
import { checkRowKey } from './row-key-check.js';
import { FIELD_MAC, rowMac, rowVerifies } from './row-macs.js';
import { assertWellFormed } from './text-input.js';

export type { RowId, RowKey, RowKeyValue } from './row-key.js';

export interface FieldRegistration {
  table: string;
  column: string;
  /** The row-key columns (one or more) whose values are bound into each ciphertext. */
  primaryKey: readonly string[];
  /** The scope whose data key encrypts the field (default "field:<table>.<column>"). */
  scope: string;
}

/** What register and plan accept: `primaryKey` as one column, a list, or "a,b". */
export interface FieldDeclaration {
  table: string;
  column: string;
  /** Default "id". */
  primaryKey?: string | readonly string[];
  scope?: string;
}

export const MAX_KEY_COLUMNS = 8;

function fieldKey(table: string, column: string): string {
  return `${table}.${column}`;
}

/** The key columns of a declaration, validated: plain identifiers, no duplicates. */
export function keyColumnsOf(primaryKey: string | readonly string[] | undefined): string[] {
  const list =
    primaryKey === undefined
      ? ['id']
      : typeof primaryKey === 'string'
        ? primaryKey.split(',').map((c) => c.trim())
        : [...primaryKey];
  if (list.length === 0 || list.length > MAX_KEY_COLUMNS) {
    throw new LockboxError(
      'FIELD_INVALID',
      `a row key has 1 to ${MAX_KEY_COLUMNS} columns (${list.length} given)`,
    );
  }
  const columns = list.map((c) => validateIdentifier('primary key column', c));
  if (new Set(columns).size !== columns.length) {
    throw new LockboxError(
      'FIELD_INVALID',
      `a row key names a column twice (${columns.join(', ')})`,
    );
  }
  return columns;
}

type RegistrationRow = Pick<
  FieldRow,
  'table_name' | 'column_name' | 'primary_key' | 'scope' | 'mac'
>;

/**
 * A stored row as a registration: its MAC must verify (INTEGRITY_CHECK_FAILED),
 * and a row no identifier rule allows is refused; neither is ever used.
 */
function fromRow(integrity: IntegrityKey, row: RegistrationRow): FieldRegistration {
  if (!rowVerifies(integrity, FIELD_MAC, row, row.mac)) {
    throw integrityFailure(FIELD_MAC.table, FIELD_MAC.rowId(row));
  }
  return {
    table: validateIdentifier('table', row.table_name),
    column: validateIdentifier('column', row.column_name),
    primaryKey: keyColumnsOf(row.primary_key),
    scope: validateScope(row.scope),
  };
}

/**
 * Writes one registration row: `upsert` (register: a second registration of the
 * same column updates its key columns and scope) or a plain insert (snapshot
 * restore into an empty store). The registration must already be validated.
 */
export async function writeRegistration(
  db: Kysely<LockboxSchema>,
  integrity: IntegrityKey,
  registration: FieldRegistration,
  options: { createdAt: string; upsert: boolean },
): Promise<void> {
  const { table, column, scope } = registration;
  const primaryKey = registration.primaryKey.join(',');
  const stored = { table_name: table, column_name: column, primary_key: primaryKey, scope };
  const mac = rowMac(integrity, FIELD_MAC, stored);
  await writeFieldRow(
    db,
    { ...stored, created_at: options.createdAt, mac },
    { upsert: options.upsert },
  );
}

export class Fields {
  readonly #db: Kysely<LockboxSchema>;
  readonly #dialect: DialectName;
  readonly #keys: DataKeys;
  readonly #registered = new Map<string, FieldRegistration>();

  constructor(db: Kysely<LockboxSchema>, dialect: DialectName, keys: DataKeys) {
    this.#db = db;
    this.#dialect = dialect;
    this.#keys = keys;
  }

  /**
   * The registration `register` would write, after every check it makes; writes
   * nothing. Throws FIELD_INVALID (names), FIELD_KEY_UNSUITABLE (the key columns
   * are not a real key of the table, see row-key-check.ts), SCOPE_INVALID, and
   * FIELD_IN_USE when an existing registration's key columns would change while
   * rows hold Lockbox ciphertext (they are bound to the old key).
   */
  async plan(field: FieldDeclaration): Promise<FieldRegistration> {
    const table = validateIdentifier('table', field.table);
    const column = validateIdentifier('column', field.column);
    const primaryKey = keyColumnsOf(field.primaryKey);
    const scope = validateUserScope(field.scope ?? `field:${table}.${column}`);
    const registration = { table, column, primaryKey, scope };
    await checkRowKey(this.#db, this.#dialect, registration);
    const existing = await this.find(table, column);
    if (existing !== undefined && existing.primaryKey.join(',') !== primaryKey.join(',')) {
      const rows = await this.lockboxRows(table, column);
      if (rows > 0) {
        throw new LockboxError(
          'FIELD_IN_USE',
          `${table}.${column} is keyed by (${existing.primaryKey.join(', ')}) and ${rows} rows hold Lockbox ciphertext bound to that key; changing it to (${primaryKey.join(', ')}) would make them unreadable; nothing was changed`,
          { details: { table, column, rows } },
        );
      }
    }
    return registration;
  }

  /** Registers a field, or updates its key columns or scope (idempotent); see `plan` for refusals. */
  async register(field: FieldDeclaration): Promise<FieldRegistration> {
    const registration = await this.plan(field);
    await writeRegistration(this.#db, this.#keys.integrity, registration, {
      createdAt: nowIso(),
      upsert: true,
    });
    this.#registered.set(fieldKey(registration.table, registration.column), registration);
    return registration;
  }

  /**
   * Removes a registration. Refused with FIELD_IN_USE while rows of the column
   * still hold Lockbox ciphertext (rotation would no longer find them, and a
   * re-key would destroy the key they need), unless `force` is set — for after
   * those values were decrypted back or dropped, or the table is gone. Throws
   * FIELD_NOT_REGISTERED. Returns the rows that held Lockbox ciphertext (-1 when
   * the table cannot be read).
   */
  async remove(table: string, column: string, options: { force?: boolean } = {}): Promise<number> {
    const field = await this.registration(table, column);
    let rows: number;
    try {
      rows = await this.lockboxRows(field.table, field.column);
    } catch (err) {
      if (options.force !== true) throw err;
      rows = -1;
    }
    if (rows > 0 && options.force !== true) {
      throw new LockboxError(
        'FIELD_IN_USE',
        `${field.table}.${field.column} still has ${rows} rows holding Lockbox ciphertext; decrypt or drop them first, or remove with force; nothing was changed`,
        { details: { table: field.table, column: field.column, rows } },
      );
    }
    await deleteFieldRow(this.#db, field.table, field.column);
    this.#registered.delete(fieldKey(field.table, field.column));
    return rows;
  }

  /** Rows of `table.column` whose value is a Lockbox ciphertext. Throws STORE_FAILED. */
  async lockboxRows(table: string, column: string): Promise<number> {
    const value = sql.ref(column);
    try {
      const { rows } = await sql<{
        n: string | number;
      }>`select count(*) as n from ${sql.table(table)} where substr(${value}, 1, ${sql.lit(CIPHERTEXT_TAG.length)}) = ${sql.lit(CIPHERTEXT_TAG)}`.execute(
        this.#db,
      );
      return Number(rows[0]?.n ?? 0);
    } catch (err) {
      throw new LockboxError('STORE_FAILED', `${table}.${column} cannot be read`, {
        cause: err,
        details: { table, column },
      });
    }
  }

  /** Every registration; `db` is a transaction to read in (bundle export and import). */
  async list(db: Kysely<LockboxSchema> = this.#db): Promise<FieldRegistration[]> {
    const rows = await allFieldRows(db);
    return rows.map((row) => fromRow(this.#keys.integrity, row));
  }

  /** The registration of `table.column`, or undefined; `db` as for `list`. */
  async find(
    table: string,
    column: string,
    db: Kysely<LockboxSchema> = this.#db,
  ): Promise<FieldRegistration | undefined> {
    const row = await fieldRow(db, table, column);
    return row === undefined ? undefined : fromRow(this.#keys.integrity, row);
  }

  async registration(table: string, column: string): Promise<FieldRegistration> {
    const known = this.#registered.get(fieldKey(table, column));
    if (known !== undefined) return known;
    const registration = await this.find(table, column);
    if (registration === undefined) {
      throw new LockboxError(
        'FIELD_NOT_REGISTERED',
        `${table}.${column} is not a registered field; register it first`,
        {
          details: { table, column },
        },
      );
    }
    this.#registered.set(fieldKey(table, column), registration);
    return registration;
  }

  /**
   * Reads the stored value of `table.column` in the row with key `key`, and the
   * row's key as the database prints it (the form bound into ciphertexts, e.g. a
   * uuid in lower case). Returns undefined when no row has that key; `value` is
   * null when the column is NULL. Throws FIELD_NOT_REGISTERED,
   * FIELD_ROW_KEY_INVALID, STORE_FAILED.
   */
  async readRow(
    table: string,
    column: string,
    key: RowKey,
  ): Promise<{ key: Record<string, string>; value: string | null } | undefined> {
    const field = await this.registration(table, column);
    const values = rowKeyValues(field.primaryKey, key, `${table}.${column}`);
    const columns = field.primaryKey;
    const selected = columns.map((c, i) => sql`cast(${sql.ref(c)} as text) as ${sql.id(`k${i}`)}`);
    const where = columns.map((c, i) => sql`${sql.ref(c)} = ${values[i]}`);
    let rows: Record<string, string | null>[];
    try {
      ({ rows } = await sql<
        Record<string, string | null>
      >`select ${sql.join(selected)}, ${sql.ref(column)} as value from ${sql.table(table)} where ${sql.join(where, sql` and `)} limit 1`.execute(
        this.#db,
      ));
    } catch (err) {
      throw new LockboxError('STORE_FAILED', `${table}.${column} cannot be read`, {
        cause: err,
        details: { table, column },
      });
    }
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      key: Object.fromEntries(columns.map((c, i) => [c, String(row[`k${i}`])])),
      value: row.value ?? null,
    };
  }

  /**
   * The associated data of `table.column` at row `key` (an object naming every key
   * column, or the value of a one-column key). Throws FIELD_NOT_REGISTERED,
   * FIELD_ROW_KEY_INVALID.
   */
  async context(
    table: string,
    column: string,
    key: RowKey,
  ): Promise<{ field: FieldRegistration; values: string[]; context: Buffer }> {
    const field = await this.registration(table, column);
    const values = rowKeyValues(field.primaryKey, key, `${table}.${column}`);
    return { field, values, context: fieldContext(table, column, field.primaryKey, values) };
  }

  /** Encrypts a value for `table.column` of the row with key `key`. */
  async encrypt(
    table: string,
    column: string,
    key: RowKey,
    plaintext: string | Uint8Array,
  ): Promise<string> {
    if (typeof plaintext === 'string')
      assertWellFormed(`the value for ${table}.${column}`, plaintext);
    const { field, values } = await this.context(table, column, key);
    const dataKey = await this.#keys.activeFor(field.scope);
    const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    return sealFieldValue(dataKey, { ...field, values }, bytes);
  }

  /** Decrypts a field value; errors name the table, column and row key (never the value). */
  async decryptBytes(
    table: string,
    column: string,
    key: RowKey,
    ciphertext: string,
  ): Promise<Buffer> {
    const { field, values } = await this.context(table, column, key);
    return openFieldValue(this.#keys, { ...field, values }, ciphertext);
  }

  async decrypt(table: string, column: string, key: RowKey, ciphertext: string): Promise<string> {
    return (await this.decryptBytes(table, column, key, ciphertext)).toString('utf8');
  }
}
