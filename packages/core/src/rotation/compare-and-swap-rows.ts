/**
 * Many compare-and-swap updates in one statement:
 *
 *   WITH v(k0, …, expected, s0, …) AS (VALUES (…), (…))
 *   UPDATE t SET col = v.s0, … FROM v
 *   WHERE t.key0 = v.k0 AND … AND t.compared = v.expected
 *
 * A row is rewritten only if it still holds the value the rotation read, so a
 * concurrent application write is never overwritten (the rotation's update
 * simply does not apply to it). One statement per chunk instead of one per row
 * is what keeps a rotation close to a hand-written loop's speed.
 *
 * Identifiers must already be validated (registered fields are; Lockbox's own
 * tables are constants). On PostgreSQL the VALUES columns are text, so key
 * columns of other types carry their type for a cast.
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';

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
}

/** Values per row: the keys, the expected value, then one value per `set` column. */
export type CasRow = readonly unknown[];

// Well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
const MAX_PARAMETERS = 8000;

/** Applies the updates; returns how many rows still held their expected value. */
export async function compareAndSwapRows(
  // biome-ignore lint/suspicious/noExplicitAny: application tables are not in the typed schema
  db: Kysely<any>,
  target: CasTarget,
  rows: readonly CasRow[],
): Promise<number> {
  const width = target.keys.length + 1 + target.set.length;
  const chunk = Math.max(1, Math.floor(MAX_PARAMETERS / width));
  let updated = 0;
  for (let start = 0; start < rows.length; start += chunk) {
    const slice = rows.slice(start, start + chunk);
    const result = await statement(target, slice, width).execute(db);
    updated += Number(result.numAffectedRows ?? 0n);
  }
  return updated;
}

function statement(target: CasTarget, rows: readonly CasRow[], width: number): RawBuilder<unknown> {
  const names = Array.from({ length: width }, (_, i) => `c${i}`);
  const values = sql.join(rows.map((row) => sql`(${sql.join(row.map((v) => sql`${v}`))})`));
  const cte = sql`${sql.id('v')}(${sql.join(names.map((n) => sql.id(n)))})`;
  const column = (name: string) => sql.ref(`${target.table}.${name}`);
  const fromV = (index: number) => sql.ref(`v.c${index}`);
  const assignments = [
    ...target.set.map((name, i) => sql`${sql.id(name)} = ${fromV(target.keys.length + 1 + i)}`),
    ...Object.entries(target.constants ?? {}).map(
      ([name, value]) => sql`${sql.id(name)} = ${value}`,
    ),
  ];
  const conditions = [
    ...target.keys.map(({ column: name, cast }, i) =>
      cast === undefined
        ? sql`${column(name)} = ${fromV(i)}`
        : sql`${column(name)} = cast(${fromV(i)} as ${sql.raw(cast)})`,
    ),
    sql`${column(target.compared)} = ${fromV(target.keys.length)}`,
  ];
  return sql`with ${cte} as (values ${values}) update ${sql.table(target.table)} set ${sql.join(assignments)} from ${sql.id('v')} where ${sql.join(conditions, sql` and `)}`;
}
