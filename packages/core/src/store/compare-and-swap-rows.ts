/**
 * Many compare-and-swap updates in one statement:
 *
 *   WITH v(k0, …, expected, s0, …) AS (<the rows>)
 *   UPDATE t SET col = v.s0, … FROM v
 *   WHERE t.key0 = v.k0 AND … AND t.compared = v.expected
 *
 * A row is rewritten only if it still holds the value the rotation read, so a
 * concurrent application write is never overwritten (the rotation's update
 * simply does not apply to it). One statement per batch instead of one per row
 * is what keeps a rotation close to a hand-written loop's speed.
 *
 * The rows travel as a few parameters, so the statement text is the same for
 * every batch and cheap to prepare: on SQLite one JSON array read with
 * json_each, on PostgreSQL one array per column read with unnest (typed, so keys
 * that are not text carry their PostgreSQL type).
 *
 * Identifiers must already be validated (registered fields are; Lockbox's own
 * tables are constants).
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { DialectName } from './connect.js';

export interface CasTarget {
  table: string;
  /** Primary-key columns; `cast` is the PostgreSQL type for non-text keys. */
  keys: readonly { column: string; cast?: string | undefined }[];
  /** The column compared with the expected value. */
  compared: string;
  /** Columns set from each row's values, after the expected value. */
  set: readonly string[];
  /** Columns set to one value for every row (e.g. updated_at). */
  constants?: Readonly<Record<string, string | null>>;
  /** Compare with IS NOT DISTINCT FROM, so an expected NULL matches a NULL (bundle import). */
  nullSafe?: boolean;
}

/** Values per row: the keys, the expected value, then one value per `set` column. */
export type CasRow = readonly unknown[];

/** Applies the updates; returns how many rows still held their expected value. */
export async function compareAndSwapRows(
  // biome-ignore lint/suspicious/noExplicitAny: application tables are not in the typed schema
  db: Kysely<any>,
  dialect: DialectName,
  target: CasTarget,
  rows: readonly CasRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await statement(dialect, target, rows).execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/** The rows as a table v(c0, c1, …). */
function source(
  dialect: DialectName,
  target: CasTarget,
  rows: readonly CasRow[],
): RawBuilder<unknown> {
  const width = target.keys.length + 1 + target.set.length;
  if (dialect === 'sqlite') {
    const columns = Array.from({ length: width }, (_, i) => sql`value ->> ${sql.lit(i)}`);
    return sql`select ${sql.join(columns)} from json_each(${JSON.stringify(rows)})`;
  }
  const arrays = Array.from({ length: width }, (_, i) => {
    const type = i < target.keys.length ? (target.keys[i]?.cast ?? 'text') : 'text';
    return sql`cast(${rows.map((row) => row[i] ?? null)} as ${sql.raw(type)}[])`;
  });
  return sql`select * from unnest(${sql.join(arrays)})`;
}

function statement(
  dialect: DialectName,
  target: CasTarget,
  rows: readonly CasRow[],
): RawBuilder<unknown> {
  const width = target.keys.length + 1 + target.set.length;
  const names = Array.from({ length: width }, (_, i) => sql.id(`c${i}`));
  const column = (name: string) => sql.ref(`${target.table}.${name}`);
  const fromV = (index: number) => sql.ref(`v.c${index}`);
  const assignments = [
    ...target.set.map((name, i) => sql`${sql.id(name)} = ${fromV(target.keys.length + 1 + i)}`),
    ...Object.entries(target.constants ?? {}).map(
      ([name, value]) => sql`${sql.id(name)} = ${value}`,
    ),
  ];
  const conditions = [
    ...target.keys.map(({ column: name }, i) => sql`${column(name)} = ${fromV(i)}`),
    target.nullSafe === true
      ? sql`${column(target.compared)} ${sql.raw(dialect === 'sqlite' ? 'is' : 'is not distinct from')} ${fromV(target.keys.length)}`
      : sql`${column(target.compared)} = ${fromV(target.keys.length)}`,
  ];
  return sql`with ${sql.id('v')}(${sql.join(names)}) as (${source(dialect, target, rows)}) update ${sql.table(target.table)} set ${sql.join(assignments)} from ${sql.id('v')} where ${sql.join(conditions, sql` and `)}`;
}
