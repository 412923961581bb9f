/**
 * Whole-store fingerprints and copies, below the library: a test proves "nothing
 * was written" by comparing fingerprints, and seeds many identical stores by
 * copying one.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import type { LockboxSchema } from '@lockbox/core/hazmat';
import Database from 'better-sqlite3';
import pg from 'pg';
import { freshDatabase, POSTGRES_URL, type TestDatabase } from './databases.js';

/** The application table the rotation fixtures register a field on (fingerprinted by default). */
const FIELD_TABLE = 'connector_credentials';

const TABLES: readonly (keyof LockboxSchema | string)[] = [
  'lockbox_meta',
  'lockbox_master_keys',
  'lockbox_data_keys',
  'lockbox_secrets',
  'lockbox_fields',
  'lockbox_rotation_jobs',
  'lockbox_locks',
  'lockbox_audit',
  'lockbox_tokens',
];

/**
 * A fingerprint of everything stored: the SQLite file's bytes, or on PostgreSQL
 * a hash of every row of every Lockbox table and of the given application tables.
 */
export async function storeFingerprint(
  database: TestDatabase,
  appTables: readonly string[] = [FIELD_TABLE],
): Promise<string> {
  if (database.file !== undefined) {
    // Move committed pages from the WAL into the file first (a no-op when nothing
    // was written), so the file's bytes are the whole store even while it is open.
    const connection = new Database(database.file);
    try {
      connection.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      connection.close();
    }
    return createHash('sha256').update(readFileSync(database.file)).digest('hex');
  }
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const hash = createHash('sha256');
    for (const table of [...TABLES, ...appTables]) {
      const { rows } = await client.query(
        `select coalesce(string_agg(md5(t::text), ',' order by md5(t::text)), '') as h from ${table} t`,
      );
      hash.update(`${table}:${String(rows[0]?.h)}\n`);
    }
    return hash.digest('hex');
  } finally {
    await client.end();
  }
}

function schemaOf(database: TestDatabase): string {
  const match = /search_path(?:=|%3D)([a-z0-9_]+)/i.exec(decodeURIComponent(database.url));
  if (match?.[1] === undefined) throw new Error('not a test schema URL');
  return match[1];
}

/**
 * A copy of a (closed) seeded store: the SQLite file, or every table of the
 * PostgreSQL schema. Seeding through the library costs many round trips;
 * copying costs a few, so tests that need many identical stores seed once.
 */
export async function cloneDatabase(template: TestDatabase): Promise<TestDatabase> {
  const copy = await freshDatabase(template.dialect);
  if (template.file !== undefined && copy.file !== undefined) {
    copyFileSync(template.file, copy.file);
    return copy;
  }
  const from = schemaOf(template);
  const to = schemaOf(copy);
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      'select tablename as name from pg_tables where schemaname = $1',
      [from],
    );
    for (const { name } of rows) {
      await client.query(
        `create table ${to}."${name}" (like ${from}."${name}" including all); insert into ${to}."${name}" select * from ${from}."${name}"`,
      );
    }
  } finally {
    await client.end();
  }
  return copy;
}
