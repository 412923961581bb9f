/**
 * A select run synchronously on the store's SQLite connection, bypassing
 * Kysely's executor, for the hottest reads (store/secret-rows.ts, the audited
 * and unaudited get). It runs the text and parameters its caller gives; the SQL
 * stays with the table's owner.
 */
import type { SqliteDatabase } from 'kysely';

/**
 * The store's SQLite connection, for a read run on it directly (Store.sqliteConnection);
 * only ever given with the store's own handle as the executor, never a transaction.
 */
export type SqliteConnectionSource = () => SqliteDatabase | undefined;

/** better-sqlite3's connection state, which Kysely's minimal interface does not name. */
type SqliteConnectionState = SqliteDatabase & { readonly inTransaction?: unknown };

export const CONNECTION_NOT_FREE = Symbol('connection not free');

/**
 * The select run synchronously on the connection. Through Kysely a warm
 * read costs about four times the statement (its executor, driver mutex and
 * promise chain: 21 µs against 4.7 µs measured). Only while the connection is
 * free: inside a transaction that Kysely opened (and is awaiting in) it would
 * see that transaction's uncommitted writes, and during a stream the connection
 * cannot run a statement; the caller then reads through Kysely, which waits its
 * turn. better-sqlite3 returns the same row objects Kysely's driver does.
 */
export function selectNow(
  connection: SqliteDatabase,
  text: string,
  parameters: readonly unknown[],
): Record<string, unknown> | undefined | typeof CONNECTION_NOT_FREE {
  const state = connection as SqliteConnectionState;
  if (typeof state.inTransaction !== 'boolean' || state.inTransaction) return CONNECTION_NOT_FREE;
  let rows: unknown[];
  try {
    rows = connection.prepare(text).all(parameters);
  } catch (err) {
    // "This database connection is busy executing a query" (a stream), or closed.
    if (err instanceof TypeError) return CONNECTION_NOT_FREE;
    throw err;
  }
  return rows[0] as Record<string, unknown> | undefined;
}
