/**
 * Opening a store from a URL, with the database driver injected.
 *
 * This module never imports better-sqlite3 or pg: it takes factories that
 * satisfy Kysely's own minimal driver interfaces, from the caller (the CLI's
 * node-drivers) or from load-drivers.ts, which openLockbox uses when the
 * application gives none. Accepted URLs:
 *   - a file path, `sqlite:PATH` or `sqlite://PATH` → SQLite (WAL), default ./lockbox.db
 *   - `postgres://…` or `postgresql://…` → PostgreSQL
 */
import { closeSync, constants, fsyncSync, openSync } from 'node:fs';
import {
  Kysely,
  PostgresDialect,
  type PostgresPool,
  type SqliteDatabase,
  SqliteDialect,
  sql,
} from 'kysely';
import { LockboxError } from '../errors.js';
import { preparingPool } from './prepared-statements.js';
import type { LockboxSchema } from './schema.js';
import { cachePreparedStatements } from './statement-cache.js';

export type DialectName = 'sqlite' | 'postgres';

export interface DatabaseDrivers {
  /** Opens a SQLite database file (better-sqlite3's constructor fits). */
  sqlite?: (path: string) => SqliteDatabase;
  /** Creates a PostgreSQL pool (pg's Pool fits). */
  postgres?: (connectionString: string) => PostgresPool;
}

export interface Store {
  readonly db: Kysely<LockboxSchema>;
  readonly dialect: DialectName;
  /** The URL with any password removed, safe to log and show. */
  readonly location: string;
  /**
   * SQLite only: the connection Kysely runs on (behind the statement cache), once
   * opened, for code that runs a few statements synchronously in one tick
   * (audit/head-cas-append.ts). Undefined before the first query and on PostgreSQL.
   */
  readonly sqliteConnection?: () => SqliteDatabase | undefined;
  /**
   * Makes every transaction committed so far survive an OS crash or power loss,
   * not only a crash of this process. For what is acted on outside the database
   * once it is reported: a finished rotation (after which the old key file is
   * renamed and its key may be deleted), a revoked token, an import. Why it is
   * needed on SQLite: see `fsyncSqliteFiles`. PostgreSQL flushes its WAL at
   * every commit (synchronous_commit, on by default), so there it does nothing.
   */
  durable(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_DATABASE = './lockbox.db';

export interface ParsedDatabaseUrl {
  dialect: DialectName;
  /** File path (SQLite) or connection string (PostgreSQL). */
  target: string;
}

export function parseDatabaseUrl(url: string = DEFAULT_DATABASE): ParsedDatabaseUrl {
  const text = url.trim();
  if (text.length === 0) return { dialect: 'sqlite', target: DEFAULT_DATABASE };
  if (/^postgres(ql)?:\/\//i.test(text)) return { dialect: 'postgres', target: text };
  if (/^sqlite:/i.test(text)) {
    const path = text.replace(/^sqlite:(\/\/)?/i, '');
    if (path.length === 0)
      throw new LockboxError('STORE_URL_UNSUPPORTED', 'sqlite: URL has no path');
    return { dialect: 'sqlite', target: path };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    const scheme = text.slice(0, text.indexOf(':'));
    throw new LockboxError(
      'STORE_URL_UNSUPPORTED',
      `database URL scheme "${scheme}" is not supported (use a file path, sqlite: or postgres://)`,
    );
  }
  if (text.includes('\0'))
    throw new LockboxError('PATH_INVALID', 'database path contains a NUL byte');
  return { dialect: 'sqlite', target: text };
}

/** The URL with its password replaced, for logs and status output. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

/**
 * Creates the SQLite file, if it does not exist yet, with mode 0600 (less if the
 * umask says so) before the driver opens it: the driver would create it 0644,
 * readable by every local user for however long it takes to chmod. SQLite gives
 * the `-wal` and `-shm` files it creates later the main file's permissions, so
 * they are 0600 from their first byte too. An existing file keeps its mode.
 * Failures (a missing directory, no permission) are left to the driver, which
 * reports them in its own words when it opens the same path.
 */
function createPrivately(path: string): void {
  if (path === ':memory:' || path === '' || path.startsWith('file:')) return;
  try {
    closeSync(openSync(path, constants.O_CREAT | constants.O_WRONLY, 0o600));
  } catch {
    // See above: the driver's open reports it.
  }
}

/**
 * The store's SQLite files flushed to disk. The connection runs WAL with
 * `synchronous = normal`: a commit is written to the `-wal` file (so it survives
 * the process being killed) but not flushed, which costs about 200 µs a commit
 * on the development machine's disk, about twice an audited read's CPU. An OS
 * crash or power loss can then lose the last commits (SQLite recovers to an
 * earlier commit, consistently). fsync on the `-wal` file flushes every frame
 * written to it, whichever connection wrote it, and on the main file what a
 * checkpoint copied there; a missing `-wal` (no write since the last
 * checkpoint-and-truncate) has nothing to flush.
 */
function fsyncSqliteFiles(path: string): void {
  if (path === ':memory:' || path === '' || path.startsWith('file:')) return;
  for (const file of [`${path}-wal`, path]) {
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDONLY);
    } catch {
      continue;
    }
    try {
      fsyncSync(fd);
    } catch (err) {
      // The change is committed (other connections see it); only its survival of a
      // power loss is unknown, which the caller must not report as "nothing changed".
      throw new LockboxError(
        'STORE_FLUSH_FAILED',
        'the change was committed but the database file could not be flushed to disk; a power loss may undo it; check the disk, then verify the change',
        { cause: err, details: { code: (err as NodeJS.ErrnoException).code ?? null } },
      );
    } finally {
      closeSync(fd);
    }
  }
}

export function connectStore(url: string | undefined, drivers: DatabaseDrivers): Store {
  const parsed = parseDatabaseUrl(url);
  const location = redactDatabaseUrl(parsed.target);
  if (parsed.dialect === 'postgres') {
    if (drivers.postgres === undefined) {
      throw new LockboxError('STORE_URL_UNSUPPORTED', 'no PostgreSQL driver was given');
    }
    const db = new Kysely<LockboxSchema>({
      dialect: new PostgresDialect({ pool: preparingPool(drivers.postgres(parsed.target)) }),
    });
    return {
      db,
      dialect: 'postgres',
      location,
      durable: () => Promise.resolve(),
      close: () => db.destroy(),
    };
  }
  if (drivers.sqlite === undefined)
    throw new LockboxError('STORE_URL_UNSUPPORTED', 'no SQLite driver was given');
  const open = drivers.sqlite;
  let connection: SqliteDatabase | undefined;
  const db = new Kysely<LockboxSchema>({
    dialect: new SqliteDialect({
      database: () => {
        createPrivately(parsed.target);
        connection = cachePreparedStatements(open(parsed.target));
        return Promise.resolve(connection);
      },
      async onCreateConnection(connection) {
        // WAL lets readers proceed while a writer (a rotation batch) commits; the
        // busy timeout makes a second process wait for the writer instead of failing.
        await connection.executeQuery(sql`pragma journal_mode = wal`.compile(db));
        await connection.executeQuery(sql`pragma busy_timeout = 10000`.compile(db));
        await connection.executeQuery(sql`pragma synchronous = normal`.compile(db));
      },
    }),
  });
  return {
    db,
    dialect: 'sqlite',
    location,
    sqliteConnection: () => connection,
    durable: async () => fsyncSqliteFiles(parsed.target),
    close: () => db.destroy(),
  };
}
