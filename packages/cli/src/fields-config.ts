/**
 * The `fields` entry of lockbox.json: the application's columns that hold
 * Lockbox ciphertext, declared where the rest of the configuration lives.
 *
 *   "fields": [
 *     { "table": "user_keys", "column": "api_key", "primaryKey": ["user_id", "provider"] },
 *     { "table": "webhooks", "column": "secret", "primaryKey": "id", "scope": "webhooks" }
 *   ]
 *
 * `primaryKey` (required: a wrong default silently registers a key that does not
 * exist) is a column name or a list of them; `scope` is optional (default
 * "field:<table>.<column>"). The declaration is the source of truth: `lockbox rotate
 * adopt` registers declared fields that are not registered yet, and `lockbox fields
 * sync` shows (and with --apply, applies) the differences from the registry.
 * Only names are checked here; whether the key is a real key of the table is
 * checked against the database when a field is registered.
 */
import {
  type FieldDeclaration,
  keyColumnsOf,
  LockboxError,
  validateUserScope,
} from '@lockbox/core';

/** A declared field, normalised: key columns as a list. */
export interface DeclaredField {
  table: string;
  column: string;
  primaryKey: string[];
  scope?: string;
}

const ENTRY_FIELDS = new Set(['table', 'column', 'primaryKey', 'scope']);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function problem(path: string, where: string, message: string): LockboxError {
  return new LockboxError('INVALID_ARGUMENT', `config file ${path}: ${where} ${message}`, {
    details: { path },
  });
}

/** Validates `fields`; throws INVALID_ARGUMENT naming the entry and what is wrong with it. */
export function parseFieldsConfig(path: string, value: unknown): DeclaredField[] {
  if (!Array.isArray(value)) throw problem(path, '"fields"', 'must be an array');
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    const where = `"fields"[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw problem(path, where, 'must be an object { "table", "column", "primaryKey" }');
    }
    const record = entry as Record<string, unknown>;
    for (const name of Object.keys(record)) {
      if (!ENTRY_FIELDS.has(name)) throw problem(path, where, `has an unknown field "${name}"`);
    }
    for (const name of ['table', 'column'] as const) {
      const text = record[name];
      if (typeof text !== 'string' || !IDENTIFIER.test(text)) {
        throw problem(
          path,
          `${where}.${name}`,
          'must be a plain SQL identifier (letters, digits, _)',
        );
      }
    }
    const table = record.table as string;
    const column = record.column as string;
    const key = record.primaryKey;
    if (key === undefined) {
      throw problem(
        path,
        where,
        `(${table}.${column}) needs "primaryKey": the column, or list of columns, that identifies a row`,
      );
    }
    if (
      typeof key !== 'string' &&
      !(Array.isArray(key) && key.every((c): c is string => typeof c === 'string'))
    ) {
      throw problem(path, `${where}.primaryKey`, 'must be a column name or an array of them');
    }
    let primaryKey: string[];
    let scope: string | undefined;
    try {
      primaryKey = keyColumnsOf(key);
      scope = record.scope === undefined ? undefined : validateUserScope(record.scope);
    } catch (err) {
      throw problem(path, where, `(${table}.${column}): ${(err as Error).message}`);
    }
    const id = `${table}.${column}`;
    if (seen.has(id)) throw problem(path, where, `declares ${id} a second time`);
    seen.add(id);
    return { table, column, primaryKey, ...(scope === undefined ? {} : { scope }) };
  });
}

/** The declaration as fields.register takes it. */
export function toDeclaration(field: DeclaredField): FieldDeclaration {
  return {
    table: field.table,
    column: field.column,
    primaryKey: field.primaryKey,
    ...(field.scope === undefined ? {} : { scope: field.scope }),
  };
}
