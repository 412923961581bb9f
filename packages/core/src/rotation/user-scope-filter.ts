/**
 * SQL condition: the scope is not one of Lockbox's own (INTERNAL_SCOPE_PREFIX,
 * e.g. "lockbox:audit", whose data key MACs the audit log). Data re-key leaves
 * those keys alone; master rotation rewraps them like any other.
 *
 * substr, not LIKE: SQLite's LIKE ignores case, and "LOCKBOX:x" is a user scope.
 */
import { type RawBuilder, sql } from 'kysely';
import { INTERNAL_SCOPE_PREFIX } from '../vault/names.js';

export function isUserScope(column: string): RawBuilder<boolean> {
  return sql<boolean>`substr(${sql.ref(column)}, 1, ${sql.lit(INTERNAL_SCOPE_PREFIX.length)}) <> ${sql.lit(INTERNAL_SCOPE_PREFIX)}`;
}
