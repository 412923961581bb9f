/**
 * A prepared-statement cache for one SQLite connection.
 *
 * Why: Kysely's SQLite driver calls `prepare(sql)` for every query, and
 * better-sqlite3 compiles the statement afresh each time. On a warm read the
 * compile costs about as much as the query itself, and an audited read runs
 * several statements. SQL text is the cache key (parameters are bound per call),
 * so the same query reuses its compiled statement.
 *
 * Contract: `cachePreparedStatements(db)` returns a database whose `prepare`
 * hands out a cached statement when one exists for that exact SQL and is not in
 * use (a statement still being iterated by a stream is `busy`; a fresh one is
 * compiled then, as before). Statements are reused as they are: nothing here
 * changes a statement's mode (raw, pluck, safeIntegers), and Kysely sets none.
 * At most `max` statements are kept, least recently used dropped first, so
 * one-off SQL (batches of varying size) cannot grow memory. Every other method
 * is the database's own.
 */
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Statements kept per connection: Lockbox's hot statements fit many times over. */
export const STATEMENT_CACHE_SIZE = 256;

export function cachePreparedStatements(
  db: SqliteDatabase,
  max: number = STATEMENT_CACHE_SIZE,
): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  const prepare = (sql: string): SqliteStatement => {
    const cached = cache.get(sql);
    if (cached !== undefined && !(cached as { busy?: boolean }).busy) {
      // Re-insert to mark it most recently used (a Map keeps insertion order).
      cache.delete(sql);
      cache.set(sql, cached);
      return cached;
    }
    const statement = db.prepare(sql);
    if (cached === undefined) {
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      cache.set(sql, statement);
    }
    return statement;
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === 'prepare') return prepare;
      if (property === 'close') {
        return () => {
          cache.clear();
          return target.close();
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
