/**
 * The real database drivers the CLI hands to core (core itself never imports
 * them). A CLI process runs one command, so the PostgreSQL pool stays small.
 *
 * Each driver is required when a store of its dialect is opened, not when the
 * CLI starts: pg costs a SQLite command (and better-sqlite3 a PostgreSQL one)
 * tens of milliseconds of start-up for nothing (bench/cli.js). core calls these
 * factories synchronously, and both packages are CommonJS, so `require` fits.
 */
import { createRequire } from 'node:module';
import type { DatabaseDrivers } from '@lockbox/core';
import type BetterSqlite3 from 'better-sqlite3';
import type Pg from 'pg';

const require = createRequire(import.meta.url);

export const nodeDrivers: DatabaseDrivers = {
  sqlite: (path) => {
    const Database = require('better-sqlite3') as typeof BetterSqlite3;
    return new Database(path);
  },
  postgres: (connectionString) => {
    const pg = require('pg') as typeof Pg;
    return new pg.Pool({ connectionString, max: 4 });
  },
};
