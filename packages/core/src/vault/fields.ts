/**
 * Fields: columns of the application's own tables that hold Lockbox ciphertext.
 *
 * A field must be registered (table, column, primary-key column) before it can be
 * encrypted, so that rotation can always find every ciphertext Lockbox made. Each
 * value is bound to its table, column and row id: copied into another row or
 * column, it fails to decrypt. The row id must therefore be known before the row
 * is written (a UUID, or an id allocated first).
 *
 * A registration decides where a field's ciphertext lives and which scope's key
 * encrypts it, so each row is MACed under the integrity key (row-macs.ts
 * FIELD_MAC); `registration` and `list` throw INTEGRITY_CHECK_FAILED, naming the
 * table and column, for a row that fails its check — it is never used, and a
 * rotation refuses to run rather than walk a redirected field. Registering the
 * field again (the operator stating its values) writes a fresh MAC.
 */
import type { Kysely } from 'kysely';
import { nowIso } from '../clock.js';
import {
  CIPHERTEXT_TAG,
  decryptParsed,
  encryptToText,
  parseCiphertext,
} from '../crypto/ciphertext.js';
import { fieldContext } from '../crypto/context.js';
import { LockboxError } from '../errors.js';
import type { LockboxSchema } from '../store/schema.js';
import type { DataKeys } from './data-keys.js';
import { integrityFailure } from './master-key-records.js';
import { validateIdentifier, validateScope } from './names.js';
import { FIELD_MAC, rowMac, rowVerifies } from './row-macs.js';
import { assertWellFormed } from './text-input.js';

export interface FieldRegistration {
  table: string;
  column: string;
  /** The primary-key column whose value is the row id bound into each ciphertext. */
  primaryKey: string;
  /** The scope whose data key encrypts the field (default "field:<table>.<column>"). */
  scope: string;
}

export type RowId = string | number | bigint;

function fieldKey(table: string, column: string): string {
  return `${table}.${column}`;
}

export class Fields {
  readonly #db: Kysely<LockboxSchema>;
  readonly #keys: DataKeys;
  readonly #registered = new Map<string, FieldRegistration>();

  constructor(db: Kysely<LockboxSchema>, keys: DataKeys) {
    this.#db = db;
    this.#keys = keys;
  }

  /** Registers a field (idempotent; re-registering may change the primary-key column). */
  async register(field: {
    table: string;
    column: string;
    primaryKey?: string;
    scope?: string;
  }): Promise<FieldRegistration> {
    const table = validateIdentifier('table', field.table);
    const column = validateIdentifier('column', field.column);
    const primaryKey = validateIdentifier('primary key column', field.primaryKey ?? 'id');
    const scope = validateScope(field.scope ?? `field:${table}.${column}`);
    const stored = { table_name: table, column_name: column, primary_key: primaryKey, scope };
    const mac = rowMac(this.#keys.integrity, FIELD_MAC, stored);
    await this.#db
      .insertInto('lockbox_fields')
      .values({ ...stored, created_at: nowIso(), mac })
      .onConflict((oc) =>
        oc
          .columns(['table_name', 'column_name'])
          .doUpdateSet({ primary_key: primaryKey, scope, mac }),
      )
      .execute();
    const registration = { table, column, primaryKey, scope };
    this.#registered.set(fieldKey(table, column), registration);
    return registration;
  }

  /** Every registration; throws INTEGRITY_CHECK_FAILED when any fails its check. */
  async list(): Promise<FieldRegistration[]> {
    const rows = await this.#db
      .selectFrom('lockbox_fields')
      .select(['table_name', 'column_name', 'primary_key', 'scope', 'mac'])
      .orderBy('table_name')
      .orderBy('column_name')
      .execute();
    return rows.map((r) => this.#authenticated(r));
  }

  #authenticated(row: {
    table_name: string;
    column_name: string;
    primary_key: string;
    scope: string;
    mac: string | null;
  }): FieldRegistration {
    if (!rowVerifies(this.#keys.integrity, FIELD_MAC, row, row.mac)) {
      throw integrityFailure(FIELD_MAC.table, FIELD_MAC.rowId(row));
    }
    return {
      table: row.table_name,
      column: row.column_name,
      primaryKey: row.primary_key,
      scope: row.scope,
    };
  }

  async registration(table: string, column: string): Promise<FieldRegistration> {
    const known = this.#registered.get(fieldKey(table, column));
    if (known !== undefined) return known;
    const row = await this.#db
      .selectFrom('lockbox_fields')
      .select(['table_name', 'column_name', 'primary_key', 'scope', 'mac'])
      .where('table_name', '=', table)
      .where('column_name', '=', column)
      .executeTakeFirst();
    if (row === undefined) {
      throw new LockboxError(
        'FIELD_NOT_REGISTERED',
        `${table}.${column} is not a registered field; register it first`,
        {
          details: { table, column },
        },
      );
    }
    const registration = this.#authenticated(row);
    this.#registered.set(fieldKey(table, column), registration);
    return registration;
  }

  /** Encrypts a value for `table.column` of row `rowId`. */
  async encrypt(
    table: string,
    column: string,
    rowId: RowId,
    plaintext: string | Uint8Array,
  ): Promise<string> {
    if (typeof plaintext === 'string')
      assertWellFormed(`the value for ${table}.${column}`, plaintext);
    const field = await this.registration(table, column);
    const key = await this.#keys.activeFor(field.scope);
    const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    return encryptToText(key.idBytes, key.key, bytes, fieldContext(table, column, String(rowId)));
  }

  /** Decrypts a field value; errors name the table, column and row (never the value). */
  async decryptBytes(
    table: string,
    column: string,
    rowId: RowId,
    ciphertext: string,
  ): Promise<Buffer> {
    await this.registration(table, column);
    try {
      const parsed = parseCiphertext(ciphertext);
      // Fields are always lb1: (their tables have no version column to bind).
      if (parsed.tag !== CIPHERTEXT_TAG) {
        throw new LockboxError('CIPHERTEXT_UNKNOWN_FORMAT', `field values are "${CIPHERTEXT_TAG}"`);
      }
      const key = await this.#keys.open(parsed.keyId);
      return decryptParsed(parsed, key.key, fieldContext(table, column, String(rowId)));
    } catch (err) {
      if (!(err instanceof LockboxError)) throw err;
      throw new LockboxError(
        err.code === 'CIPHERTEXT_UNKNOWN_FORMAT'
          ? 'CIPHERTEXT_UNKNOWN_FORMAT'
          : 'SECRET_UNDECRYPTABLE',
        `${table}.${column} of row ${String(rowId)} cannot be decrypted (${err.code})`,
        {
          cause: err,
          details: { ...err.details, table, column, rowId: String(rowId), reason: err.code },
        },
      );
    }
  }

  async decrypt(table: string, column: string, rowId: RowId, ciphertext: string): Promise<string> {
    return (await this.decryptBytes(table, column, rowId, ciphertext)).toString('utf8');
  }
}
