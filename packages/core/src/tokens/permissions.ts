/**
 * Token permissions and the one rule that decides them.
 *
 * A permission is one of:
 *   secrets:read:<scope-glob>   read secrets in matching scopes (glob: see scope-glob.ts)
 *   secrets:write:<scope-glob>  set and delete secrets in matching scopes
 *   fields:encrypt:<field-glob> encrypt values of matching registered fields over HTTP
 *   fields:decrypt:<field-glob> decrypt values of matching registered fields over HTTP
 *   keys:rotate                 start or resume a master or data rotation
 *   backup:export  backup:import  audit:read
 *   admin                       everything above except keys:rotate, plus tokens
 *
 * `secrets:read` / `secrets:write` without a glob mean all scopes (`:*`).
 * Rotation needs `keys:rotate` explicitly: `admin` alone is not enough, so that an
 * everyday admin token cannot re-key the store. Secret permissions never reach
 * Lockbox's own internal scopes ("lockbox:…").
 *
 * A field glob matches `table.column` with the same rule (`*` matches any run of
 * characters): `user_keys.api_key`, `user_keys.*`, `*`. Field permissions are
 * separate from secret permissions both ways: `fields:decrypt` reads no secret and
 * `secrets:read` decrypts no field. They never reach Lockbox's own `lockbox_` tables.
 */
import { LockboxError } from '../errors.js';
import { INTERNAL_SCOPE_PREFIX, validateScope } from '../vault/names.js';
import { matchScopeGlob } from './scope-glob.js';

export const PERMISSION_NAMES = [
  'secrets:read',
  'secrets:write',
  'fields:encrypt',
  'fields:decrypt',
  'keys:rotate',
  'backup:export',
  'backup:import',
  'audit:read',
  'admin',
] as const;

export type PermissionName = (typeof PERMISSION_NAMES)[number];

const SCOPED = new Set<string>(['secrets:read', 'secrets:write']);
const FIELD = new Set<string>(['fields:encrypt', 'fields:decrypt']);
const PLAIN = new Set<string>(PERMISSION_NAMES.filter((p) => !SCOPED.has(p) && !FIELD.has(p)));

/** A field glob: identifier characters, `.` and `*`, at most 256 of them. */
const FIELD_GLOB = /^[A-Za-z0-9_.*]{1,256}$/;

/** Lockbox's own tables; no field permission reaches them. */
const INTERNAL_TABLE_PREFIX = 'lockbox_';

/** What `can` needs of a token (a TokenInfo fits). */
export interface PermissionHolder {
  readonly permissions: readonly string[];
}

/** Validates one permission and returns its normal form. Throws INVALID_ARGUMENT. */
export function parsePermission(text: string): string {
  if (typeof text !== 'string') {
    throw new LockboxError('INVALID_ARGUMENT', 'a permission must be a string');
  }
  if (PLAIN.has(text)) return text;
  for (const name of SCOPED) {
    if (text === name) return `${name}:*`;
    if (text.startsWith(`${name}:`)) {
      const glob = text.slice(name.length + 1);
      try {
        validateScope(glob);
      } catch {
        throw new LockboxError(
          'INVALID_ARGUMENT',
          `permission "${name}" has an invalid scope glob (empty, too long, or control characters)`,
        );
      }
      return `${name}:${glob}`;
    }
  }
  for (const name of FIELD) {
    if (text === name) return `${name}:*`;
    if (text.startsWith(`${name}:`)) {
      const glob = text.slice(name.length + 1);
      if (!FIELD_GLOB.test(glob)) {
        throw new LockboxError(
          'INVALID_ARGUMENT',
          `permission "${name}" has an invalid field glob (table.column with letters, digits, _ and *)`,
        );
      }
      return `${name}:${glob}`;
    }
  }
  throw new LockboxError(
    'INVALID_ARGUMENT',
    `unknown permission (known: ${PERMISSION_NAMES.join(', ')}; secret permissions take :<scope-glob>, field permissions :<table.column glob>)`,
    { details: { known: [...PERMISSION_NAMES] } },
  );
}

/** Validates a list: at least one, each known; returns normal forms without duplicates. */
export function parsePermissions(list: readonly string[]): string[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new LockboxError('INVALID_ARGUMENT', 'a token needs at least one permission');
  }
  return [...new Set(list.map(parsePermission))];
}

/**
 * Whether the holder may do `permission` (on `scope`, for the secret permissions;
 * on `table.column`, passed as `scope`, for the field permissions; without a
 * target those return false). `admin` grants everything except
 * `keys:rotate`. Unknown permission strings held by a token grant nothing.
 */
export function can(holder: PermissionHolder, permission: PermissionName, scope?: string): boolean {
  const held = holder.permissions;
  if (SCOPED.has(permission)) {
    if (scope === undefined || scope.startsWith(INTERNAL_SCOPE_PREFIX)) return false;
    if (held.includes('admin')) return true;
    const prefix = `${permission}:`;
    return held.some((p) => p.startsWith(prefix) && matchScopeGlob(p.slice(prefix.length), scope));
  }
  if (FIELD.has(permission)) {
    if (scope === undefined || scope.startsWith(INTERNAL_TABLE_PREFIX)) return false;
    if (held.includes('admin')) return true;
    const prefix = `${permission}:`;
    return held.some((p) => p.startsWith(prefix) && matchScopeGlob(p.slice(prefix.length), scope));
  }
  if (permission === 'keys:rotate') return held.includes('keys:rotate');
  return held.includes(permission) || held.includes('admin');
}
