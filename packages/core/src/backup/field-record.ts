/**
 * The field value record of a bundle (kind "field.v1", bundle version 2 and
 * later): one registered field's value in one row of the application's table,
 * decrypted, with the row's key. docs/format.md ("Bundles") is the normative
 * description; this file is its reader and writer.
 *
 *   {"kind":"field.v1","table":"user_keys","column":"api_key",
 *    "key":{"user_id":"42","provider":"github"},"value":"…"}
 *
 * `key` names every key column once, each value as the source database printed
 * it (CAST(col AS text)); text values are "value", others canonical base64
 * "valueBase64". A record's kind carries its version: a reader refuses a kind it
 * does not know (BUNDLE_RECORD_UNSUPPORTED) rather than skip data.
 */
import { LockboxError } from '../errors.js';
import { MAX_KEY_COLUMNS } from '../vault/fields.js';
import { validateIdentifier } from '../vault/names.js';
import { malformed } from './json-lines.js';
import { readRecordValue } from './record-value.js';

export const FIELD_RECORD_KIND = 'field.v1';
/** The record kinds this reader knows (a record without `kind` is a secret). */
export const RECORD_KINDS: readonly string[] = [FIELD_RECORD_KIND];
/** A row key's values together, in UTF-8 bytes: real keys are ids, uuids, names. */
export const MAX_ROW_KEY_BYTES = 1024;

export interface FieldValueRecord {
  table: string;
  column: string;
  /** Key columns in the order the record names them. */
  keyColumns: string[];
  /** Their values, canonical text, in the same order. */
  keyValues: string[];
  value: string | Buffer;
}

/** The JSON object of a field value record. */
export function encodeFieldRecord(record: FieldValueRecord): object {
  const key: Record<string, string> = {};
  for (const [i, column] of record.keyColumns.entries()) {
    Object.defineProperty(key, column, {
      value: record.keyValues[i],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const { table, column, value } = record;
  return typeof value === 'string'
    ? { kind: FIELD_RECORD_KIND, table, column, key, value }
    : { kind: FIELD_RECORD_KIND, table, column, key, valueBase64: value.toString('base64') };
}

/** Throws BUNDLE_RECORD_UNSUPPORTED unless `kind` is one this reader knows. */
export function requireKnownKind(kind: unknown, line: number): string {
  if (typeof kind === 'string' && RECORD_KINDS.includes(kind)) return kind;
  const shown =
    typeof kind === 'string' ? `"${kind.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}"` : typeof kind;
  throw new LockboxError(
    'BUNDLE_RECORD_UNSUPPORTED',
    `line ${line}: a record of kind ${shown}, which this Lockbox does not read (it reads ${RECORD_KINDS.join(', ')}); nothing was imported`,
    { details: { line, supported: RECORD_KINDS } },
  );
}

function identifier(what: string, value: unknown, line: number): string {
  try {
    return validateIdentifier(what, value);
  } catch {
    throw malformed(line, `${what} of a field record must be a plain SQL identifier`);
  }
}

/**
 * Validates a field value record (its `kind` already checked). Throws
 * BUNDLE_MALFORMED for missing, unknown or ill-typed fields, a key that names no
 * column, a column twice (JSON.parse keeps the last) or a non-text key value,
 * and VALUE_TOO_LARGE for a value over `maxValueBytes` or a key over
 * MAX_ROW_KEY_BYTES, TEXT_INVALID for a lone surrogate.
 */
export function parseFieldRecord(
  object: Record<string, unknown>,
  line: number,
  maxValueBytes: number,
): FieldValueRecord {
  const allowed = new Set(['kind', 'table', 'column', 'key', 'value', 'valueBase64']);
  for (const field of ['table', 'column', 'key']) {
    if (!(field in object)) throw malformed(line, `a field record has no "${field}" field`);
  }
  for (const field of Object.keys(object)) {
    if (!allowed.has(field))
      throw malformed(line, `a field record has an unknown field "${field}"`);
  }
  const table = identifier('the table', object.table, line);
  const column = identifier('the column', object.column, line);
  const key = object.key;
  if (typeof key !== 'object' || key === null || Array.isArray(key)) {
    throw malformed(line, `the key of a ${table}.${column} record must be an object`);
  }
  const keyColumns = Object.keys(key);
  if (keyColumns.length === 0 || keyColumns.length > MAX_KEY_COLUMNS) {
    throw malformed(
      line,
      `the key of a ${table}.${column} record must name 1 to ${MAX_KEY_COLUMNS} columns`,
    );
  }
  const keyValues: string[] = [];
  let keyBytes = 0;
  for (const name of keyColumns) {
    identifier('a key column', name, line);
    const value = (key as Record<string, unknown>)[name];
    if (typeof value !== 'string') {
      throw malformed(line, `key column ${name} of a ${table}.${column} record must be a string`);
    }
    keyBytes += Buffer.byteLength(value, 'utf8');
    keyValues.push(value);
  }
  if (keyBytes > MAX_ROW_KEY_BYTES) {
    throw new LockboxError(
      'VALUE_TOO_LARGE',
      `line ${line}: the row key of a ${table}.${column} record is larger than ${MAX_ROW_KEY_BYTES} bytes`,
      { details: { line, table, column, limit: MAX_ROW_KEY_BYTES } },
    );
  }
  const value = readRecordValue(object, line, maxValueBytes, {
    record: `a ${table}.${column} record`,
    value: `a ${table}.${column} value`,
    details: { table, column },
  });
  return { table, column, keyColumns, keyValues, value };
}
