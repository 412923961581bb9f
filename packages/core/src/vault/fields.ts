/**
 * Fields: columns of the application's own tables that hold Lockbox ciphertext.
 *
 * A field must be registered (table, column, primary-key column) before it can be
 * encrypted, so that rotation can always find every ciphertext Lockbox made. Each
 * value is bound to its table, column and row id: copied into another row or
 * column, it fails to decrypt. The row id must therefore be known before the row
 * is written (a UUID, or an id allocated first).
 */
import type { Kysely } from 'kysely';
import { nowIso } from '../clock.js';
import { decryptParsed, encryptToText, parseCiphertext } from '../crypto/ciphertext.js';
import { fieldContext } from '../crypto/context.js';
import { LockboxError } from '../errors.js';
import type { LockboxSchema } from '../store/schema.js';
import type { DataKeys } from './data-keys.js';
import { validateIdentifier, validateScope } from './names.js';
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
    await this.#db
      .insertInto('lockbox_fields')
      .values({
        table_name: table,
        column_name: column,
        primary_key: primaryKey,
        scope,
        created_at: nowIso(),
      })
      .onConflict((oc) =>
        oc.columns(['table_name', 'column_name']).doUpdateSet({ primary_key: primaryKey, scope }),
      )
      .execute();
    const registration = { table, column, primaryKey, scope };
    this.#registered.set(fieldKey(table, column), registration);
    return registration;
  }

  async list(): Promise<FieldRegistration[]> {
    const rows = await this.#db
      .selectFrom('lockbox_fields')
      .select(['table_name', 'column_name', 'primary_key', 'scope'])
      .orderBy('table_name')
      .orderBy('column_name')
      .execute();
    return rows.map((r) => ({
      table: r.table_name,
      column: r.column_name,
      primaryKey: r.primary_key,
      scope: r.scope,
    }));
  }

  async registration(table: string, column: string): Promise<FieldRegistration> {
    const known = this.#registered.get(fieldKey(table, column));
    if (known !== undefined) return known;
    const row = await this.#db
      .selectFrom('lockbox_fields')
      .select(['table_name', 'column_name', 'primary_key', 'scope'])
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
    const registration = {
      table: row.table_name,
      column: row.column_name,
      primaryKey: row.primary_key,
      scope: row.scope,
    };
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
