/**
 * A registered field's table, walked in row-key order in batches.
 *
 * Rotation and adoption read (row key, value) pairs after a cursor and write
 * back with compare-and-swap on the value, so an application writing the same
 * rows meanwhile never loses a write. The value filter runs in SQL so that rows
 * with nothing to do are not shipped to the process: `lockbox` selects values
 * that start with "lb1:", `legacy` every other non-null value, `all` both.
 * (substr, not LIKE: SQLite's LIKE ignores case, and "LB1:…" is not Lockbox's.)
 *
 * Keys of one or more columns: the walk is keyset pagination over the whole
 * tuple, `(k1, …, kn) > (v1, …, vn)` with the same order as `ORDER BY k1, …, kn`
 * (row values: SQLite ≥ 3.15, PostgreSQL). Key values are read as the database
 * prints them (`CAST(k AS text)`), which is exact for every accepted key type
 * (integers beyond 2^53 included) and is the form bound into the ciphertext; they
 * go back to the database as text, converted by the column's affinity (SQLite) or
 * an explicit cast to the column's type (PostgreSQL). `prepare` must succeed
 * before any other call: it checks the key is a real key of the table (see
 * vault/row-key-check.ts), so no row can be skipped or confused with another.
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { CIPHERTEXT_TAG } from '../crypto/ciphertext.js';
import { fieldContext } from '../crypto/context.js';
import { LockboxError } from '../errors.js';
import { type CasRow, compareAndSwapRows } from '../store/compare-and-swap-rows.js';
import type { DialectName } from '../store/connect.js';
import type { FieldRegistration } from '../vault/fields.js';
import { describeRowKey } from '../vault/row-key.js';
import { checkRowKey } from '../vault/row-key-check.js';

// biome-ignore lint/suspicious/noExplicitAny: application tables are not in the typed schema
type AnyDb = Kysely<any>;

export type FieldFilter = 'lockbox' | 'legacy' | 'all';

/** A row key as canonical text values, in key-column order. */
export type KeyValues = readonly string[];

export interface FieldRow {
  key: KeyValues;
  value: string;
}

/** Key values as the row-key object fields.decrypt takes ({ column: value, … }). */
export function keyObject(table: FieldTable, key: KeyValues): Record<string, string> {
  return Object.fromEntries(table.field.primaryKey.map((c, i) => [c, key[i] as string]));
}

export class FieldTable {
  readonly field: FieldRegistration;
  readonly #dialect: DialectName;
  #casts: (string | undefined)[] | undefined;

  constructor(field: FieldRegistration, dialect: DialectName) {
    this.field = field;
    this.#dialect = dialect;
  }

  /** "table.column", as progress events and results name it. */
  get label(): string {
    return `${this.field.table}.${this.field.column}`;
  }

  /** Checks the row key against the table (read-only); throws FIELD_KEY_UNSUITABLE. */
  async prepare(db: AnyDb): Promise<void> {
    this.#casts = (await checkRowKey(db, this.#dialect, this.field)).casts;
  }

  get #keyCasts(): (string | undefined)[] {
    if (this.#casts === undefined) {
      throw new LockboxError('INTERNAL', `${this.label}: the row key was not checked first`);
    }
    return this.#casts;
  }

  /** The associated data of the row with key `key`. */
  context(key: KeyValues): Buffer {
    return fieldContext(this.field.table, this.field.column, this.field.primaryKey, key);
  }

  /** "42" or "user_id=42, provider=github", for reports. */
  describe(key: KeyValues): string {
    return describeRowKey(this.field.primaryKey, key);
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

  /**
   * Whether `value` can be sent as key column `index` without the cast failing
   * (PostgreSQL refuses "abc" as an integer, and an error would abort the
   * transaction). Only a value that could print exactly as given matters: one
   * that cannot is no row's key, whatever the database would make of it.
   */
  #fits(value: string, index: number): boolean {
    if (this.#dialect === 'sqlite') return true;
    if (value.includes('\u0000')) return false;
    const cast = this.#keyCasts[index];
    if (cast === undefined) return true;
    const integer = /^(smallint|integer|bigint)$/.exec(cast);
    if (integer !== null) {
      if (!/^-?[1-9][0-9]{0,18}$|^0$/.test(value)) return false;
      const bits = integer[1] === 'smallint' ? 15n : integer[1] === 'integer' ? 31n : 63n;
      const n = BigInt(value);
      return n >= -(1n << bits) && n < 1n << bits;
    }
    const numeric = /^numeric(?:\(([0-9]+)(?:, *([0-9]+))?\))?$/.exec(cast);
    if (numeric !== null) {
      const match = /^-?([0-9]+)(?:\.([0-9]+))?$/.exec(value);
      if (match === null) return false;
      if (numeric[1] === undefined) return value.length <= 1000;
      // Printed with exactly `scale` decimals; anything else would round (perhaps overflow).
      const scale = Number(numeric[2] ?? 0);
      if ((match[2] ?? '').length !== scale) return false;
      const digits = (match[1] as string).replace(/^0+/, '').length;
      return digits <= Number(numeric[1]) - scale;
    }
    if (cast === 'uuid')
      return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value);
    return true;
  }

  /** A key value sent back to the database, typed like its column. */
  #param(value: string, index: number): RawBuilder<unknown> {
    const cast = this.#keyCasts[index];
    return cast === undefined ? sql`${value}` : sql`cast(${value} as ${sql.raw(cast)})`;
  }

  #after(after: KeyValues | null): RawBuilder<unknown> {
    if (after === null) return sql``;
    const columns = this.field.primaryKey.map((c) => sql.ref(c));
    const values = after.map((v, i) => this.#param(v, i));
    if (columns.length === 1) return sql`and ${columns[0]} > ${values[0]}`;
    return sql`and (${sql.join(columns)}) > (${sql.join(values)})`;
  }

  /** The next rows after `after` (exclusive) in row-key order. */
  async readBatch(
    db: AnyDb,
    filter: FieldFilter,
    after: KeyValues | null,
    limit: number,
  ): Promise<FieldRow[]> {
    const keys = this.field.primaryKey;
    const selected = keys.map((c, i) => sql`cast(${sql.ref(c)} as text) as ${sql.id(`k${i}`)}`);
    const order = sql.join(keys.map((c) => sql.ref(c)));
    const { rows } = await this.#guard(() =>
      sql<
        Record<string, string>
      >`select ${sql.join(selected)}, ${sql.ref(this.field.column)} as value from ${sql.table(this.field.table)} where ${this.#where(filter)} ${this.#after(after)} order by ${order} limit ${limit}`.execute(
        db,
      ),
    );
    return rows.map((row) => ({
      key: keys.map((_, i) => String(row[`k${i}`])),
      value: row.value as string,
    }));
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

  /**
   * The rows with these keys (at most one each), with their keys as the database
   * prints them: a caller compares those with what it asked for, so a key that
   * merely converts to another row's (" 42", "042" on an integer column) finds
   * nothing. `value` is null for a NULL column.
   */
  async readByKeys(
    db: AnyDb,
    keys: readonly KeyValues[],
  ): Promise<{ key: KeyValues; value: string | null }[]> {
    const fitting = keys.filter((key) => key.every((v, i) => this.#fits(v, i)));
    if (fitting.length === 0) return [];
    const columns = this.field.primaryKey;
    const selected = columns.map((c, i) => sql`cast(${sql.ref(c)} as text) as ${sql.id(`k${i}`)}`);
    const tuple = (key: KeyValues) => sql`(${sql.join(key.map((v, i) => this.#param(v, i)))})`;
    const { rows } = await this.#guard(() =>
      sql<
        Record<string, string | null>
      >`select ${sql.join(selected)}, ${sql.ref(this.field.column)} as value from ${sql.table(this.field.table)} where (${sql.join(columns.map((c) => sql.ref(c)))}) in (values ${sql.join(fitting.map(tuple))})`.execute(
        db,
      ),
    );
    return rows.map((row) => ({
      key: columns.map((_, i) => String(row[`k${i}`])),
      value: row.value ?? null,
    }));
  }

  /**
   * Writes `next` where the row still holds `expected` (a NULL matching a NULL
   * when `expected` is null); returns how many rows changed.
   */
  async compareAndSwap(
    db: AnyDb,
    rows: readonly { key: KeyValues; expected: string | null; next: string }[],
  ): Promise<number> {
    if (rows.length === 0) return 0;
    const casts = this.#keyCasts;
    return this.#guard(() =>
      compareAndSwapRows(
        db,
        this.#dialect,
        {
          table: this.field.table,
          keys: this.field.primaryKey.map((column, i) => ({ column, cast: casts[i] })),
          compared: this.field.column,
          set: [this.field.column],
          nullSafe: rows.some((r) => r.expected === null),
        },
        rows.map((r): CasRow => [...r.key, r.expected, r.next]),
      ),
    );
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
        `registered field ${this.label} (row key ${this.field.primaryKey.join(', ')}) cannot be read or written: ${reason}`,
        { cause: err, details: { table: this.field.table, column: this.field.column } },
      );
    }
  }
}
