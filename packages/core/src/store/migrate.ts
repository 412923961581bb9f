/**
 * Bringing a store's schema up to date, safely when several processes open it at
 * once, and refusing a database that a newer Lockbox has migrated past what this
 * code knows.
 *
 * All pending migrations run in one transaction that first takes an exclusive
 * lock — `BEGIN IMMEDIATE` on SQLite (waiting under busy_timeout), a transaction
 * advisory lock on PostgreSQL — and then re-reads what is applied, so a process
 * that waited behind another finds the work done and does nothing.
 */
import { type Kysely, sql } from 'kysely';
import { LockboxError } from '../errors.js';
import type { Store } from './connect.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import type { LockboxSchema } from './schema.js';

/**
 * Steps that need more than SQL (key access), keyed by the name of the migration
 * they follow; each runs right after its migration, inside the one migration
 * transaction, so a failure rolls back the schema change too. A pending migration
 * with a step needs that step when the database already holds tables:
 * migrateToLatest refuses (KEY_MISSING) without it.
 */
export type MigrationSteps = Readonly<
  Record<string, (trx: Kysely<LockboxSchema>) => Promise<void>>
>;

/** Migrations whose keyed step must be supplied. */
const KEYED = new Set(['0003_integrity']);

const MIGRATION_TABLE = 'lockbox_migration';
/** An arbitrary constant that names Lockbox's migration lock among advisory locks. */
const POSTGRES_MIGRATION_LOCK = 0x4c6f636b_0001n;

// biome-ignore lint/suspicious/noExplicitAny: the schema is being built
type AnyDb = Kysely<any>;

async function tableExists(store: Store, db: AnyDb, name: string): Promise<boolean> {
  if (store.dialect === 'postgres') {
    // to_regclass honours the search_path, so stores in other schemas are not seen.
    const { rows } = await sql<{
      oid: string | null;
    }>`select to_regclass(${name})::text as oid`.execute(db);
    return rows[0]?.oid !== null && rows[0]?.oid !== undefined;
  }
  const { rows } = await sql<{
    name: string;
  }>`select name from sqlite_master where type = 'table' and name = ${name}`.execute(db);
  return rows.length > 0;
}

/** Names of the migrations the database has run, or [] when it has none yet. */
async function appliedMigrations(store: Store, db: AnyDb = store.db): Promise<string[]> {
  if (!(await tableExists(store, db, MIGRATION_TABLE))) return [];
  const { rows } = await sql<{
    name: string;
  }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(db);
  return rows.map((r) => r.name);
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
export async function migrateToLatest(store: Store, steps: MigrationSteps = {}): Promise<number> {
  const applied = await appliedMigrations(store);
  refuseIfNewer(applied);
  if (applied.length === SCHEMA_VERSION) return SCHEMA_VERSION;
  // An empty database has nothing to stamp; one that predates a keyed step needs it.
  const needed =
    applied.length === 0
      ? []
      : [...KEYED].filter((name) => !applied.includes(name) && steps[name] === undefined);
  if (needed.length > 0) {
    throw new LockboxError(
      'KEY_MISSING',
      `upgrading this store (${needed.join(', ')}) needs the master key; open it once with the master key configured`,
      { details: { migrations: needed } },
    );
  }
  await store.db.connection().execute(async (db) => {
    if (store.dialect === 'sqlite') {
      await sql`begin immediate`.execute(db);
    } else {
      await sql`begin`.execute(db);
      await sql`select pg_advisory_xact_lock(${POSTGRES_MIGRATION_LOCK})`.execute(db);
    }
    try {
      await sql`create table if not exists ${sql.table(MIGRATION_TABLE)} (name text primary key, applied_at text not null)`.execute(
        db,
      );
      const done = new Set(await appliedMigrations(store, db));
      refuseIfNewer([...done]);
      for (const [name, migration] of Object.entries(MIGRATIONS)) {
        if (done.has(name)) continue;
        await migration.up(db);
        await steps[name]?.(db as Kysely<LockboxSchema>);
        await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, applied_at) values (${name}, ${new Date().toISOString()})`.execute(
          db,
        );
      }
      await sql`commit`.execute(db);
    } catch (err) {
      await sql`rollback`.execute(db).catch(() => undefined);
      if (err instanceof LockboxError) throw err;
      throw new LockboxError('STORE_FAILED', 'schema migration failed', { cause: err });
    }
  });
  return SCHEMA_VERSION;
}
