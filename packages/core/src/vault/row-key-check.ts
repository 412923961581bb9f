/**
 * Is a field's row key a real key of its table? Checked at registration and
 * before every adoption and re-key, because rotation walks rows in key order with
 * keyset pagination and rewrites them by key: a key that is not unique or can be
 * NULL skips or mixes rows, and a data re-key would then destroy a data key some
 * row still needs.
 *
 * Accepted: key columns that exist, are NOT NULL, are of a type whose text form
 * compares and round-trips exactly, and are covered by a primary key or a unique
 * index over exactly them (not partial, no expressions). On SQLite an
 * `INTEGER PRIMARY KEY` column (an alias of the rowid) is such a key. Refused:
 * system columns (PostgreSQL's `ctid`, `xmin`, …; SQLite's implicit `rowid`,
 * `oid`, `_rowid_`), whose values change or are not bound to the row.
 *
 * Read-only. Throws FIELD_KEY_UNSUITABLE (details.reason: missing-table,
 * missing-column, system-column, nullable, unsupported-type, not-unique).
 */
import { type Kysely, sql } from 'kysely';
import { LockboxError } from '../errors.js';
import type { DialectName } from '../store/connect.js';

// biome-ignore lint/suspicious/noExplicitAny: application tables are not in the typed schema
type AnyDb = Kysely<any>;

export interface RowKeyShape {
  table: string;
  column: string;
  primaryKey: readonly string[];
}

export interface CheckedRowKey {
  /** Per key column, the PostgreSQL type to cast text to (undefined: text, or SQLite). */
  casts: (string | undefined)[];
}

export type RowKeyRefusal =
  | 'missing-table'
  | 'missing-column'
  | 'system-column'
  | 'nullable'
  | 'unsupported-type'
  | 'not-unique';

function refuse(field: RowKeyShape, reason: RowKeyRefusal, message: string): LockboxError {
  return new LockboxError(
    'FIELD_KEY_UNSUITABLE',
    `${field.table}.${field.column} cannot use (${field.primaryKey.join(', ')}) as its row key: ${message}; nothing was changed`,
    {
      details: {
        table: field.table,
        column: field.column,
        keyColumns: [...field.primaryKey],
        reason,
      },
    },
  );
}

const SAME_SET = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x) => b.includes(x));

export function checkRowKey(
  db: AnyDb,
  dialect: DialectName,
  field: RowKeyShape,
): Promise<CheckedRowKey> {
  return dialect === 'postgres' ? checkPostgres(db, field) : checkSqlite(db, field);
}

/** SQLite's column affinity from a declared type (https://sqlite.org/datatype3.html, 3.1). */
function sqliteAffinity(declared: string): 'integer' | 'text' | 'blob' | 'real' | 'numeric' {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'integer';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text';
  if (t === '' || t.includes('BLOB')) return 'blob';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'real';
  return 'numeric';
}

const SQLITE_ROWID = new Set(['rowid', 'oid', '_rowid_']);

async function checkSqlite(db: AnyDb, field: RowKeyShape): Promise<CheckedRowKey> {
  const { rows: columns } = await sql<{
    name: string;
    type: string;
    notnull: number;
    pk: number;
  }>`select name, type, "notnull", pk from pragma_table_info(${field.table})`.execute(db);
  if (columns.length === 0) refuseMissingTable(field);
  const { rows: tables } = await sql<{
    wr: number;
  }>`select wr from pragma_table_list where name = ${field.table} and schema = 'main'`.execute(db);
  const withoutRowid = tables[0]?.wr === 1;
  const pkColumns = columns.filter((c) => c.pk > 0);
  // An INTEGER PRIMARY KEY column is the rowid itself: unique and never NULL.
  const rowidAlias =
    !withoutRowid && pkColumns.length === 1 && pkColumns[0]?.type.toUpperCase() === 'INTEGER'
      ? pkColumns[0].name
      : undefined;
  for (const name of field.primaryKey) {
    const column = columns.find((c) => c.name === name);
    if (column === undefined) {
      if (SQLITE_ROWID.has(name.toLowerCase())) {
        throw refuse(
          field,
          'system-column',
          `${name} is SQLite's implicit rowid, which VACUUM may renumber; declare an INTEGER PRIMARY KEY column and use it`,
        );
      }
      throw refuse(field, 'missing-column', `table ${field.table} has no column ${name}`);
    }
    const notNull = column.notnull === 1 || name === rowidAlias || (withoutRowid && column.pk > 0);
    if (!notNull) {
      throw refuse(
        field,
        'nullable',
        `column ${name} is not NOT NULL (SQLite allows NULL in a PRIMARY KEY that is not an INTEGER PRIMARY KEY unless it is declared NOT NULL), and a row with a NULL key cannot be found again`,
      );
    }
    const affinity = sqliteAffinity(column.type);
    if (affinity !== 'integer' && affinity !== 'text') {
      throw refuse(
        field,
        'unsupported-type',
        `column ${name} has ${affinity} affinity (declared "${column.type}"); a row key must be an integer or text column`,
      );
    }
  }
  if (field.primaryKey.length === 1 && field.primaryKey[0] === rowidAlias) {
    return { casts: [undefined] };
  }
  const { rows: indexes } = await sql<{
    name: string;
    unique: number;
    partial: number;
  }>`select name, "unique", partial from pragma_index_list(${field.table})`.execute(db);
  for (const index of indexes) {
    if (index.unique !== 1 || index.partial !== 0) continue;
    const { rows: parts } = await sql<{
      cid: number;
      name: string | null;
    }>`select cid, name from pragma_index_info(${index.name})`.execute(db);
    if (parts.some((p) => p.cid < 0 || p.name === null)) continue;
    if (
      SAME_SET(
        parts.map((p) => p.name as string),
        field.primaryKey,
      )
    ) {
      return { casts: field.primaryKey.map(() => undefined) };
    }
  }
  throw refuseNotUnique(field);
}

function refuseMissingTable(field: RowKeyShape): never {
  throw refuse(field, 'missing-table', `table ${field.table} does not exist`);
}

function refuseNotUnique(field: RowKeyShape): LockboxError {
  return refuse(
    field,
    'not-unique',
    `no primary key or unique index covers exactly these columns, so several rows may share a key; add one (CREATE UNIQUE INDEX … ON ${field.table} (${field.primaryKey.join(', ')})) or name the table's real key`,
  );
}

/** PostgreSQL types whose text form round-trips exactly and does not depend on session settings. */
const PG_KEY_TYPES =
  /^(smallint|integer|bigint|numeric(\([0-9, ]+\))?|text|character varying(\([0-9]+\))?|character(\([0-9]+\))?|uuid|citext)$/;

async function checkPostgres(db: AnyDb, field: RowKeyShape): Promise<CheckedRowKey> {
  const relation = `"${field.table}"`;
  const { rows: found } = await sql<{
    oid: string | null;
  }>`select to_regclass(${relation})::oid::text as oid`.execute(db);
  if (found[0]?.oid === null || found[0]?.oid === undefined) refuseMissingTable(field);
  const { rows: columns } = await sql<{
    name: string;
    num: number;
    notnull: boolean;
    type: string;
  }>`select a.attname as name, a.attnum as num, a.attnotnull as notnull,
            format_type(a.atttypid, a.atttypmod) as type
     from pg_attribute a
     where a.attrelid = to_regclass(${relation}) and not a.attisdropped`.execute(db);
  const casts: (string | undefined)[] = [];
  const numbers: number[] = [];
  for (const name of field.primaryKey) {
    const column = columns.find((c) => c.name === name);
    if (column === undefined) {
      throw refuse(field, 'missing-column', `table ${field.table} has no column ${name}`);
    }
    if (column.num <= 0) {
      throw refuse(
        field,
        'system-column',
        `${name} is a PostgreSQL system column, whose value changes when the row is updated or the table is rewritten`,
      );
    }
    if (!column.notnull) {
      throw refuse(
        field,
        'nullable',
        `column ${name} is not NOT NULL, and a row with a NULL key cannot be found again`,
      );
    }
    if (!PG_KEY_TYPES.test(column.type)) {
      throw refuse(
        field,
        'unsupported-type',
        `column ${name} is of type ${column.type}; a row key must be an integer, numeric, text, varchar, char, uuid or citext column (types whose text form is exact and independent of session settings)`,
      );
    }
    casts.push(column.type === 'text' ? undefined : column.type);
    numbers.push(column.num);
  }
  const { rows: indexes } = await sql<{ keys: string }>`
    select array_to_string((i.indkey::int2[])[0:i.indnkeyatts - 1], ',') as keys
    from pg_index i
    where i.indrelid = to_regclass(${relation}) and i.indisunique and i.indisvalid
      and i.indpred is null and i.indexprs is null`.execute(db);
  for (const index of indexes) {
    const keys = index.keys.split(',').map(Number);
    if (keys.length === numbers.length && keys.every((k) => numbers.includes(k))) {
      return { casts };
    }
  }
  throw refuseNotUnique(field);
}
