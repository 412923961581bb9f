/**
 * lockbox_master_keys, the only code that runs SQL on it (schema history
 * aside): one row per master key the store knows, by fingerprint, with its
 * state (active, retired) and MAC. Which rows are trusted (their MAC) is
 * vault/master-key-records.ts's; key checks, inspection and recovery read here.
 */
import type { Insertable, Selectable } from 'kysely';
import type { Executor } from './executor.js';
import type { MasterKeyTable } from './schema.js';

export type MasterKeyRow = Selectable<MasterKeyTable>;

/** Inserts the row, or replaces the state, retired_at and MAC of the fingerprint's. */
export async function upsertMasterKeyRow(
  db: Executor,
  row: Insertable<MasterKeyTable>,
): Promise<void> {
  const { state, retired_at, mac } = row;
  await db
    .insertInto('lockbox_master_keys')
    .values(row)
    .onConflict((oc) => oc.column('fingerprint').doUpdateSet({ state, retired_at, mac }))
    .execute();
}

export async function allMasterKeyRows(db: Executor): Promise<MasterKeyRow[]> {
  return db.selectFrom('lockbox_master_keys').selectAll().orderBy('fingerprint').execute();
}

export async function masterKeyRow(
  db: Executor,
  fingerprint: string,
): Promise<MasterKeyRow | undefined> {
  return db
    .selectFrom('lockbox_master_keys')
    .selectAll()
    .where('fingerprint', '=', fingerprint)
    .executeTakeFirst();
}

/**
 * Fingerprints of the rows marked active, sorted. Unauthenticated (no MAC is
 * checked): for what runs without the integrity key — the startup key check of
 * a store that has no live data key, and inspection without any key.
 */
export async function activeMasterKeyFingerprints(db: Executor): Promise<string[]> {
  const rows = await db
    .selectFrom('lockbox_master_keys')
    .select('fingerprint')
    .where('state', '=', 'active')
    .orderBy('fingerprint')
    .execute();
  return rows.map((row) => row.fingerprint);
}

/**
 * Takes the row lock of one record until the transaction ends (a no-op update;
 * on SQLite the database's write lock).
 */
export async function lockMasterKeyRow(trx: Executor, fingerprint: string): Promise<void> {
  await trx
    .updateTable('lockbox_master_keys')
    .set((eb) => ({ state: eb.ref('state') }))
    .where('fingerprint', '=', fingerprint)
    .execute();
}

/** Replaces one row's MAC (the integrity upgrade's stamping). */
export async function setMasterKeyMac(
  db: Executor,
  fingerprint: string,
  mac: string,
): Promise<void> {
  await db
    .updateTable('lockbox_master_keys')
    .set({ mac })
    .where('fingerprint', '=', fingerprint)
    .execute();
}
