/**
 * lockbox_meta, the only code that runs SQL on it (schema history aside): one
 * row per named entry of the store (its id, the recovery recipient and its MAC,
 * the audit head, backup state; the names are vault/store-meta.ts's META and
 * audit/audit-head.ts's AUDIT_HEAD_META). What a value means and whether it
 * authenticates is the callers' (vault/authenticated-meta.ts, audit/).
 */
import type { Selectable } from 'kysely';
import type { DialectName } from './connect.js';
import type { Executor } from './executor.js';
import type { MetaTable } from './schema.js';

export type MetaRow = Selectable<MetaTable>;

export async function getMeta(db: Executor, key: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('lockbox_meta')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirst();
  return row?.value;
}

/** The entries among `keys` that exist, in one round trip. */
export async function metaRows(db: Executor, keys: readonly string[]): Promise<MetaRow[]> {
  return db.selectFrom('lockbox_meta').select(['key', 'value']).where('key', 'in', keys).execute();
}

/** Upsert: writes the value whatever was there. */
export async function setMeta(db: Executor, key: string, value: string): Promise<void> {
  await db
    .insertInto('lockbox_meta')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}

/** Inserts the entry unless it exists; true when this call inserted it. */
export async function insertMetaIfAbsent(
  db: Executor,
  key: string,
  value: string,
): Promise<boolean> {
  const inserted = await db
    .insertInto('lockbox_meta')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function deleteMeta(db: Executor, key: string): Promise<void> {
  await db.deleteFrom('lockbox_meta').where('key', '=', key).execute();
}

/**
 * Locks the entry's row until transaction `trx` ends. PostgreSQL: `select … for
 * update` (an absent row locks nothing). SQLite: a write of the row's own value,
 * which takes the database's single write lock at once.
 */
export async function lockMetaRow(trx: Executor, dialect: DialectName, key: string): Promise<void> {
  if (dialect === 'postgres') {
    await trx.selectFrom('lockbox_meta').select('key').where('key', '=', key).forUpdate().execute();
    return;
  }
  await trx
    .updateTable('lockbox_meta')
    .set((eb) => ({ value: eb.ref('value') }))
    .where('key', '=', key)
    .execute();
}

/**
 * Compare-and-swap of one entry's value as SQL text, for a statement its caller
 * runs by hand on a hot path (audit/head-cas-append.ts). Each argument is a
 * placeholder (`?` or `$n`); with `?` they bind in the order next, key,
 * expected, then those of `alsoWhere` (a further condition of the caller's).
 * It changes one row when the value was `expected`, none otherwise.
 */
export function swapMetaValueSql(
  placeholders: { next: string; key: string; expected: string },
  alsoWhere: string,
): string {
  const { next, key, expected } = placeholders;
  return `update lockbox_meta set value = ${next} where key = ${key} and value = ${expected} and ${alsoWhere}`;
}
