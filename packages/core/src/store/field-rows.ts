/**
 * lockbox_fields, the only code that runs SQL on it (schema history aside): one
 * row per registered field (the application's table and column, its row-key
 * columns joined by commas, its scope, and its MAC). Validating and MACing a
 * registration are vault/fields.ts's; snapshot, restore, the integrity upgrade
 * and the integrity report read and write here too.
 */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from './executor.js';
import type { FieldTable } from './schema.js';

export type FieldRow = Selectable<FieldTable>;

/** Every registration row, by table then column. */
export async function allFieldRows(db: Executor): Promise<FieldRow[]> {
  return db
    .selectFrom('lockbox_fields')
    .selectAll()
    .orderBy('table_name')
    .orderBy('column_name')
    .execute();
}

export async function fieldRow(
  db: Executor,
  table: string,
  column: string,
): Promise<FieldRow | undefined> {
  return db
    .selectFrom('lockbox_fields')
    .selectAll()
    .where('table_name', '=', table)
    .where('column_name', '=', column)
    .executeTakeFirst();
}

export async function fieldRowCount(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('lockbox_fields')
    .select((eb) => eb.fn.countAll<string | number>().as('count'))
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}

/**
 * Writes one row: `upsert` replaces the key columns, scope and MAC of an
 * existing registration of the same column (created_at stays); otherwise a
 * plain insert, which fails on an existing one.
 */
export async function writeFieldRow(
  db: Executor,
  row: Insertable<FieldTable>,
  options: { upsert: boolean },
): Promise<void> {
  const insert = db.insertInto('lockbox_fields').values(row);
  const { primary_key, scope, mac } = row;
  await (options.upsert
    ? insert.onConflict((oc) =>
        oc.columns(['table_name', 'column_name']).doUpdateSet({ primary_key, scope, mac }),
      )
    : insert
  ).execute();
}

export async function deleteFieldRow(db: Executor, table: string, column: string): Promise<void> {
  await db
    .deleteFrom('lockbox_fields')
    .where('table_name', '=', table)
    .where('column_name', '=', column)
    .execute();
}

/** Replaces one row's MAC (the integrity upgrade's stamping). */
export async function setFieldMac(
  db: Executor,
  table: string,
  column: string,
  mac: string,
): Promise<void> {
  await db
    .updateTable('lockbox_fields')
    .set({ mac })
    .where('table_name', '=', table)
    .where('column_name', '=', column)
    .execute();
}
