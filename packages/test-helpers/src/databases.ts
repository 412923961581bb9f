/**
 * Real databases for tests: every storage test runs against SQLite (a temp file)
 * and PostgreSQL (a fresh schema in the local `test` database).
 *
 * PostgreSQL is required: when it cannot be reached the tests fail, they do not
 * skip. Set LOCKBOX_TEST_POSTGRES to point elsewhere.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseDrivers, DialectName } from '@lockbox/core';
import Database from 'better-sqlite3';
import pg from 'pg';

export const POSTGRES_URL =
  process.env.LOCKBOX_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

export const drivers: DatabaseDrivers = {
  sqlite: (path) => new Database(path),
  postgres: (connectionString) => new pg.Pool({ connectionString, max: 4 }),
};

export const DIALECTS: readonly DialectName[] = ['sqlite', 'postgres'];

export interface TestDatabase {
  dialect: DialectName;
  /** A URL that openLockbox and the CLI accept. */
  url: string;
  /** The SQLite file, for byte-identity checks (sqlite only). */
  file?: string;
  /** Removes the file or drops the schema. */
  drop(): Promise<void>;
}

/** A fresh, empty database of the given dialect. */
export async function freshDatabase(dialect: DialectName): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'lockbox-test-'));
    const file = join(dir, 'lockbox.db');
    return {
      dialect,
      url: file,
      file,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`create schema ${schema}`);
  } finally {
    await admin.end();
  }
  const url = `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    dialect,
    url,
    drop: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await client.end();
      }
    },
  };
}
