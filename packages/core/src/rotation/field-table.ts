/**
 * A registered field's table, walked in primary-key order in batches.
 *
 * Rotation and adoption read (primary key, value) pairs after a cursor and write
 * back with compare-and-swap on the value, so an application writing the same
 * rows meanwhile never loses a write. The value filter runs in SQL so that rows
 * with nothing to do are not shipped to the process: `lockbox` selects values
 * that start with "lb1:", `legacy` every other non-null value, `all` both.
 * (substr, not LIKE: SQLite's LIKE ignores case, and "LB1:…" is not Lockbox's.)
 */
import { type Kysely, sql } from 'kysely';
import { CIPHERTEXT_TAG } from '../crypto/ciphertext.js';
import { LockboxError } from '../errors.js';
import type { DialectName } from '../store/connect.js';
import type { FieldRegistration, RowId } from '../vault/fields.js';
import { type CasRow, compareAndSwapRows } from './compare-and-swap-rows.js';

// biome-ignore lint/suspicious/noExplicitAny: application tables are not in the typed schema
type AnyDb = Kysely<any>;

export type FieldFilter = 'lockbox' | 'legacy' | 'all';

export interface FieldRow {
  pk: RowId;
  value: string;
}

/** A type name as PostgreSQL's format_type prints it ("integer", "character varying(64)"). */
const PG_TYPE = /^[a-z][a-z0-9_ ]*(\([0-9, ]+\))?(\[\])?$/;

export class FieldTable {
  readonly field: FieldRegistration;
  readonly #dialect: DialectName;
  #keyCast: string | undefined | null = null;

  constructor(field: FieldRegistration, dialect: DialectName) {
    this.field = field;
    this.#dialect = dialect;
  }

  /** "table.column", as progress events and results name it. */
  get label(): string {
    return `${this.field.table}.${this.field.column}`;
  }

  #where(filter: FieldFilter) {
    const value = sql.ref(this.field.column);
    const tag = sql`substr(${value}, 1, ${sql.lit(CIPHERTEXT_TAG.length)})`;
    switch (filter) {
      case 'lockbox':
        return sql`${tag} = ${sql.lit(CIPHERTEXT_TAG)}`;
      case 'legacy':
        return sql`${value} is not null and ${tag} <> ${sql.lit(CIPHERTEXT_TAG)}`;
      default:
        return sql`${value} is not null`;
    }
  }

  /** The next rows after `after` (exclusive) in primary-key order. */
  async readBatch(
    db: AnyDb,
    filter: FieldFilter,
    after: RowId | null,
    limit: number,
  ): Promise<FieldRow[]> {
    const pk = sql.ref(this.field.primaryKey);
    const cursor = after === null ? sql`` : sql`and ${pk} > ${after}`;
    const { rows } = await this.#guard(() =>
      sql<FieldRow>`select ${pk} as pk, ${sql.ref(this.field.column)} as value from ${sql.table(this.field.table)} where ${this.#where(filter)} ${cursor} order by ${pk} limit ${limit}`.execute(
        db,
      ),
    );
    return rows;
  }

  async count(db: AnyDb, filter: FieldFilter): Promise<number> {
    const { rows } = await this.#guard(() =>
      sql<{
        n: string | number;
      }>`select count(*) as n from ${sql.table(this.field.table)} where ${this.#where(filter)}`.execute(
        db,
      ),
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Writes `next` where the row still holds `expected`; returns how many rows changed. */
  async compareAndSwap(
    db: AnyDb,
    rows: readonly { pk: RowId; expected: string; next: string }[],
  ): Promise<number> {
    if (rows.length === 0) return 0;
    const cast = await this.#primaryKeyCast(db);
    return this.#guard(() =>
      compareAndSwapRows(
        db,
        this.#dialect,
        {
          table: this.field.table,
          keys: [{ column: this.field.primaryKey, cast }],
          compared: this.field.column,
          set: [this.field.column],
        },
        rows.map((r): CasRow => [r.pk, r.expected, r.next]),
      ),
    );
  }

  /** The primary key's PostgreSQL type when it is not text (VALUES lists are text). */
  async #primaryKeyCast(db: AnyDb): Promise<string | undefined> {
    if (this.#dialect !== 'postgres') return undefined;
    if (this.#keyCast !== null) return this.#keyCast;
    const { rows } = await sql<{ type: string | null }>`
      select format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
      where a.attrelid = to_regclass(${`"${this.field.table}"`})
        and a.attname = ${this.field.primaryKey} and not a.attisdropped`.execute(db);
    const type = rows[0]?.type ?? null;
    if (type === null || !PG_TYPE.test(type)) {
      throw new LockboxError(
        'FIELD_INVALID',
        `${this.label}: primary key column ${this.field.primaryKey} was not found`,
        { details: { table: this.field.table, column: this.field.column } },
      );
    }
    this.#keyCast = type === 'text' ? undefined : type;
    return this.#keyCast;
  }

  /** Database errors on the application's table name the field (never a value). */
  async #guard<T>(query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (err) {
      if (err instanceof LockboxError) throw err;
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new LockboxError(
        'STORE_FAILED',
        `registered field ${this.label} (primary key ${this.field.primaryKey}) cannot be read or written: ${reason}`,
        { cause: err, details: { table: this.field.table, column: this.field.column } },
      );
    }
  }
}
