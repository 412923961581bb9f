/**
 * Bringing a store's schema up to date, safely when several processes open it at
 * once (Kysely's migrator serialises them through its lock table), and refusing a
 * database that a newer Lockbox has migrated past what this code knows.
 */
import { type MigrationProvider, Migrator, sql } from 'kysely';
import { LockboxError } from '../errors.js';
import type { Store } from './connect.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

const MIGRATION_TABLE = 'lockbox_migration';
const MIGRATION_LOCK_TABLE = 'lockbox_migration_lock';

const provider: MigrationProvider = { getMigrations: async () => ({ ...MIGRATIONS }) };

/**
 * The PostgreSQL schema Lockbox's tables live in (the first of the search_path),
 * so that stores in different schemas of one database never see each other.
 */
async function currentSchema(store: Store): Promise<string | undefined> {
  if (store.dialect !== 'postgres') return undefined;
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(
    store.db,
  );
  return rows[0]?.schema;
}

async function tableExists(store: Store, name: string): Promise<boolean> {
  if (store.dialect === 'postgres') {
    const { rows } = await sql<{
      oid: string | null;
    }>`select to_regclass(${name})::text as oid`.execute(store.db);
    return rows[0]?.oid !== null && rows[0]?.oid !== undefined;
  }
  const { rows } = await sql<{
    name: string;
  }>`select name from sqlite_master where type = 'table' and name = ${name}`.execute(store.db);
  return rows.length > 0;
}

/** Names of the migrations the database has run, or [] when it has none yet. */
async function appliedMigrations(store: Store): Promise<string[]> {
  if (!(await tableExists(store, MIGRATION_TABLE))) return [];
  const rows = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(
    store.db,
  );
  return rows.rows.map((r) => r.name);
}

function refuseIfNewer(applied: readonly string[]): void {
  const unknown = applied.filter((name) => !(name in MIGRATIONS));
  if (unknown.length > 0) {
    throw new LockboxError(
      'STORE_SCHEMA_TOO_NEW',
      `the database has schema migrations this Lockbox does not know (${unknown.join(', ')}); upgrade Lockbox`,
      { details: { unknown, knownVersion: SCHEMA_VERSION } },
    );
  }
}

/** The schema version the database is at (0 for an empty database). */
export async function schemaVersion(store: Store): Promise<number> {
  const applied = await appliedMigrations(store);
  refuseIfNewer(applied);
  return applied.length;
}

/**
 * Runs every pending migration. Writes nothing when the schema is current, so a
 * refused open leaves the database untouched.
 */
export async function migrateToLatest(store: Store): Promise<number> {
  const applied = await appliedMigrations(store);
  refuseIfNewer(applied);
  if (applied.length === SCHEMA_VERSION) return SCHEMA_VERSION;
  const schema = await currentSchema(store);
  const migrator = new Migrator({
    db: store.db,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
    provider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) {
    // A concurrent process may have migrated past us with newer code.
    refuseIfNewer(await appliedMigrations(store));
    throw new LockboxError('STORE_FAILED', 'schema migration failed', { cause: error });
  }
  return SCHEMA_VERSION;
}
