/**
 * Validation of scopes and secret names.
 *
 * Both are stored as plain text and echoed in errors, logs and audit entries, so
 * they must be printable: no control characters (which could forge log lines or
 * hide text in a terminal), not empty, and bounded in length.
 */
import { LockboxError } from '../errors.js';
import { INTERNAL_SCOPE_PREFIX } from '../store/user-scope-filter.js';
import { isWellFormedText } from './text-input.js';

export const MAX_NAME_LENGTH = 256;
export const MAX_SCOPE_LENGTH = 256;

// C0, DEL, C1 controls, and the Unicode line/paragraph separators and bidi overrides.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function check(kind: 'scope' | 'name', value: unknown, max: number): string {
  const code = kind === 'scope' ? 'SCOPE_INVALID' : 'NAME_INVALID';
  if (typeof value !== 'string' || value.length === 0) {
    throw new LockboxError(code, `${kind} must be a non-empty string`);
  }
  if (value.length > max) throw new LockboxError(code, `${kind} is longer than ${max} characters`);
  if (FORBIDDEN.test(value)) throw new LockboxError(code, `${kind} contains control characters`);
  // A lone surrogate has no UTF-8 form: stored, it would silently become U+FFFD.
  if (!isWellFormedText(value)) {
    throw new LockboxError(code, `${kind} contains a lone surrogate (not valid Unicode)`);
  }
  if (value.trim() !== value)
    throw new LockboxError(code, `${kind} has leading or trailing whitespace`);
  return value;
}

export function validateScope(scope: unknown): string {
  return check('scope', scope, MAX_SCOPE_LENGTH);
}

/**
 * The beginning of a scope name, as a search: what a scope may contain, but it
 * may be empty and may end in whitespace (a scope may continue after it).
 * Throws SCOPE_INVALID.
 */
export function validateScopePrefix(prefix: unknown): string {
  if (prefix === '') return prefix;
  if (typeof prefix !== 'string' || prefix.length > MAX_SCOPE_LENGTH) {
    return check('scope', prefix, MAX_SCOPE_LENGTH);
  }
  // Checked as the beginning of a scope: followed by one more character, it must be one.
  check('scope', `${prefix}x`, MAX_SCOPE_LENGTH + 1);
  return prefix;
}

export function validateName(name: unknown): string {
  return check('name', name, MAX_NAME_LENGTH);
}

/** SQL identifiers for registered fields: they are interpolated into rotation's queries. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function validateIdentifier(what: string, value: unknown): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new LockboxError(
      'FIELD_INVALID',
      `${what} must be a plain SQL identifier (letters, digits, _)`,
    );
  }
  return value;
}

/** Scopes starting with this prefix belong to Lockbox itself (for example the audit key). */
export { INTERNAL_SCOPE_PREFIX };

/** A scope an application may write to: valid, and not one of Lockbox's own. */
export function validateUserScope(scope: unknown): string {
  const valid = validateScope(scope);
  if (valid.startsWith(INTERNAL_SCOPE_PREFIX)) {
    throw new LockboxError(
      'SCOPE_INVALID',
      `scopes starting with "${INTERNAL_SCOPE_PREFIX}" are reserved for Lockbox`,
    );
  }
  return valid;
}
