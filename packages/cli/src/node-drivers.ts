/**
 * The real database drivers the CLI hands to core (core itself never imports
 * them). A CLI process runs one command, so the PostgreSQL pool stays small.
 */
import type { DatabaseDrivers } from '@lockbox/core';
import Database from 'better-sqlite3';
import pg from 'pg';

export const nodeDrivers: DatabaseDrivers = {
  sqlite: (path) => new Database(path),
  postgres: (connectionString) => new pg.Pool({ connectionString, max: 4 }),
};
