/**
 * Databases for benchmarks: a SQLite file in a temp directory, or a fresh schema
 * in the local PostgreSQL `test` database (as the storage tests use), dropped
 * afterwards. LOCKBOX_BENCH_POSTGRES (or LOCKBOX_TEST_POSTGRES) points elsewhere.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

export const POSTGRES_URL =
  process.env.LOCKBOX_BENCH_POSTGRES ??
  process.env.LOCKBOX_TEST_POSTGRES ??
  'postgres://postgres@127.0.0.1:5432/test';

/** The real drivers, injected into openLockbox as the CLI does. @type {import('@lockbox/core').DatabaseDrivers} */
export const drivers = {
  sqlite: (path) => new Database(path),
  postgres: (connectionString) => new pg.Pool({ connectionString, max: 4 }),
};

/** @type {readonly ('sqlite' | 'postgres')[]} */
export const DIALECTS = ['sqlite', 'postgres'];

/** Runs one statement on the PostgreSQL server outside any bench schema. */
async function adminQuery(text) {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, empty database: `{ dialect, url, drop() }`. Throws when PostgreSQL is
 * not reachable; callers report that dialect as not available.
 * @param {'sqlite' | 'postgres'} dialect
 */
export async function freshDatabase(dialect) {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'lockbox-bench-'));
    return {
      dialect,
      url: join(dir, 'lockbox.db'),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create schema ${schema}`);
  const separator = POSTGRES_URL.includes('?') ? '&' : '?';
  return {
    dialect,
    url: `${POSTGRES_URL}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    drop: () => adminQuery(`drop schema if exists ${schema} cascade`),
  };
}

/** The server's version string, or undefined when it cannot be reached. */
export async function postgresVersion() {
  try {
    const result = await adminQuery('show server_version');
    return String(result.rows[0]?.server_version);
  } catch {
    return undefined;
  }
}

/** The SQLite library version better-sqlite3 links. */
export function sqliteVersion() {
  const db = new Database(':memory:');
  try {
    return /** @type {{ v: string }} */ (db.prepare('select sqlite_version() as v').get()).v;
  } finally {
    db.close();
  }
}
