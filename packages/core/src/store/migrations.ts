/**
 * Schema migrations, in order. Append only: a released migration never changes,
 * because a database remembers which ones it has run. SCHEMA_VERSION is the number
 * of migrations; a database that has run one this code does not know is newer
 * than the code and is refused (see migrate.ts).
 */
import { type Kysely, type Migration, PostgresAdapter, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run before the typed schema exists
type AnyDb = Kysely<any>;

const initial: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('lockbox_meta')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('lockbox_master_keys')
      .addColumn('fingerprint', 'text', (c) => c.primaryKey())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('retired_at', 'text')
      .execute();
    await db.schema
      .createTable('lockbox_data_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('wrapped', 'text')
      .addColumn('master_fingerprint', 'text')
      .addColumn('wrapped_recovery', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('lockbox_data_keys_scope_version', ['scope', 'version'])
      .execute();
    await db.schema
      .createIndex('lockbox_data_keys_master')
      .on('lockbox_data_keys')
      .columns(['master_fingerprint', 'id'])
      .execute();
    await db.schema
      .createTable('lockbox_secrets')
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('value_type', 'text', (c) => c.notNull())
      .addColumn('ciphertext', 'text', (c) => c.notNull())
      .addColumn('data_key_id', 'text', (c) => c.notNull())
      .addColumn('metadata', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text')
      .addPrimaryKeyConstraint('lockbox_secrets_pk', ['scope', 'name'])
      .execute();
    await db.schema
      .createIndex('lockbox_secrets_data_key')
      .on('lockbox_secrets')
      .columns(['data_key_id', 'scope', 'name'])
      .execute();
    await db.schema
      .createTable('lockbox_fields')
      .addColumn('table_name', 'text', (c) => c.notNull())
      .addColumn('column_name', 'text', (c) => c.notNull())
      .addColumn('primary_key', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('lockbox_fields_pk', ['table_name', 'column_name'])
      .execute();
    await db.schema
      .createTable('lockbox_rotation_jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('mode', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('from_fingerprint', 'text')
      .addColumn('to_fingerprint', 'text')
      .addColumn('checkpoint', 'text')
      .addColumn('totals', 'text')
      .addColumn('started_by', 'text')
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .addColumn('error', 'text')
      .execute();
    await db.schema
      .createTable('lockbox_locks')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('acquired_at', 'text', (c) => c.notNull())
      .addColumn('heartbeat_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('lockbox_audit')
      // Assigned by the appender (previous + 1) inside its lock, not by the database,
      // so a concurrent append collides on the key instead of forking the chain.
      .addColumn('seq', 'integer', (c) => c.primaryKey())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('actor_id', 'text')
      .addColumn('actor_name', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('scope', 'text')
      .addColumn('name', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text')
      .addColumn('details', 'text')
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('lockbox_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('permissions', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text')
      .addColumn('last_used_at', 'text')
      .addColumn('revoked_at', 'text')
      .execute();
  },
};

/**
 * Each audit entry records which data key of the internal "lockbox:audit" scope
 * MACs it, so the chain stays verifiable if that scope ever gets a new key version.
 */
const auditKeyId: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('lockbox_audit').addColumn('key_id', 'text').execute();
  },
};

/**
 * Each security-relevant row gains a MAC under the integrity key (see
 * vault/row-macs.ts). The keyed part — creating the integrity key and stamping
 * the rows that exist at upgrade time — needs the master key, so it is the
 * `0003_integrity` hook that migrateToLatest runs right after this, in the same
 * transaction (see migrate.ts).
 */
const integrity: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('lockbox_tokens').addColumn('mac', 'text').execute();
    await db.schema.alterTable('lockbox_fields').addColumn('mac', 'text').execute();
    await db.schema.alterTable('lockbox_master_keys').addColumn('mac', 'text').execute();
  },
};

/**
 * A rotation job's error code gets its own column (it was the part of `error`
 * before the first colon). Rows written before keep their text; their code is
 * filled from it here, where it has the shape `CODE: message`.
 */
const jobErrorCode: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('lockbox_rotation_jobs').addColumn('error_code', 'text').execute();
    const stopped: { id: string; error: string }[] = await db
      .selectFrom('lockbox_rotation_jobs')
      .select(['id', 'error'])
      .where('error', 'is not', null)
      .execute();
    for (const job of stopped) {
      const code = /^([A-Z][A-Z0-9_]*): /.exec(job.error)?.[1];
      if (code === undefined) continue;
      await db
        .updateTable('lockbox_rotation_jobs')
        .set({ error_code: code })
        .where('id', '=', job.id)
        .execute();
    }
  },
};

/**
 * The audit log becomes several hash chains (audit/audit-chains.ts): each entry
 * names its chain and its position in it (chain_seq), and the MAC covers that
 * position instead of seq. seq stays the table-wide order, now assigned by the
 * database (SQLite: the rowid, which an integer primary key already is;
 * PostgreSQL: a sequence), because appenders on different chains no longer
 * share a counter. Entries written before form chain 0, in place: their
 * position is their seq, so their MACs verify unchanged.
 */
const auditChains: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .alterTable('lockbox_audit')
      .addColumn('chain', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('lockbox_audit').addColumn('chain_seq', 'integer').execute();
    await db.updateTable('lockbox_audit').set({ chain_seq: sql`seq` }).execute();
    // Unique: two appenders that raced on one chain collide here instead of forking it.
    await db.schema
      .createIndex('lockbox_audit_chain_position')
      .unique()
      .on('lockbox_audit')
      .columns(['chain', 'chain_seq'])
      .execute();
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    await sql`create sequence lockbox_audit_seq owned by lockbox_audit.seq`.execute(db);
    await sql`select setval('lockbox_audit_seq', coalesce((select max(seq) from lockbox_audit), 0) + 1, false)`.execute(
      db,
    );
    await sql`alter table lockbox_audit alter column seq set default nextval('lockbox_audit_seq')`.execute(
      db,
    );
  },
};

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_audit_key_id': auditKeyId,
  '0003_integrity': integrity,
  '0004_job_error_code': jobErrorCode,
  '0005_audit_chains': auditChains,
};

export const SCHEMA_VERSION = Object.keys(MIGRATIONS).length;
