/**
 * The one test for "is this one of the application's scopes, not Lockbox's own
 * (INTERNAL_SCOPE_PREFIX, e.g. "lockbox:audit")", in SQL and in JavaScript.
 * Every query that walks user scopes (export, snapshot, restore, data re-key)
 * uses isUserScope (the secrets' queries through store/secret-rows.ts); never
 * `LIKE`.
 *
 * Why not LIKE: SQLite's LIKE ignores ASCII case, so `NOT LIKE 'lockbox:%'`
 * also drops "LOCKBOX:prod" and "Lockbox:x", which are ordinary user scopes
 * (only the exact lower-case prefix is reserved, see validateUserScope). substr
 * and `<>` compare bytes on SQLite and code points on PostgreSQL, so both
 * dialects agree with isInternalScope below.
 */
import { type RawBuilder, sql } from 'kysely';

/**
 * Scopes Lockbox keeps its own keys in. Defined here, with the filter, because
 * store/ imports nothing above it; vault/names.ts re-exports it for validation.
 */
export const INTERNAL_SCOPE_PREFIX = 'lockbox:';

/** SQL condition on `column`: true for user scopes, false for Lockbox's internal ones. */
export function isUserScope(column: string): RawBuilder<boolean> {
  return sql<boolean>`substr(${sql.ref(column)}, 1, ${sql.lit(INTERNAL_SCOPE_PREFIX.length)}) <> ${sql.lit(INTERNAL_SCOPE_PREFIX)}`;
}

/** The same decision in JavaScript (case-sensitive, exactly as isUserScope). */
export function isInternalScope(scope: string): boolean {
  return scope.startsWith(INTERNAL_SCOPE_PREFIX);
}
