/**
 * The bundle format, versions 1 and 2: what an export holds inside its age
 * encryption. docs/format.md ("Bundles") is the normative description; this file
 * is its reader and writer (field value records: field-record.ts).
 *
 * A bundle is UTF-8 JSON lines:
 *   1. a header   {"format":"lockbox-bundle","version":1|2, ...optional facts}
 *   2. records    {"scope","name","value"|"valueBase64","metadata","version","updatedAt"}
 *                 and, in version 2, {"kind":"field.v1",...} field value records
 *   3. a trailer  {"end":true,"records":N}
 *
 * Version 2 adds record kinds: a record with a `kind` is typed by it (unknown
 * kinds are refused, BUNDLE_RECORD_UNSUPPORTED), one without is a secret; its
 * header may list the fields it holds and count their values. An export is
 * version 1 when it holds no field values, so older readers still import it.
 *
 * Lockbox always writes every field. A hand-made bundle needs only the header's
 * `format` and `version` and each record's scope, name and value: the trailer and
 * the header's counts are optional, but when present they must match the records,
 * so a truncated export is always detected. Unknown fields are refused (a typo
 * must not silently drop data); newer formats get a new `version`, which this
 * reader refuses (BUNDLE_VERSION_UNSUPPORTED) rather than guesses at.
 */
import { LockboxError } from '../errors.js';
import { keyColumnsOf } from '../vault/fields.js';
import { validateIdentifier, validateName, validateUserScope } from '../vault/names.js';
import { validateMetadata } from '../vault/text-input.js';
import { type ArchiveKind, checkArchiveVersion } from './archive-header.js';
import {
  checkFields,
  malformed,
  optionalString,
  optionalTimestamp,
  requireCount,
  requireString,
} from './json-lines.js';
import { readRecordValue } from './record-value.js';

export const BUNDLE_FORMAT = 'lockbox-bundle';
/** The newest version this reader reads (and what an export with field values writes). */
export const BUNDLE_VERSION = 2;

const BUNDLE_KIND: ArchiveKind = {
  format: BUNDLE_FORMAT,
  noun: 'bundle',
  newest: BUNDLE_VERSION,
  purpose: 'import it',
};
/** The version an export without field values writes (every Lockbox reads it). */
export const BUNDLE_VERSION_SECRETS_ONLY = 1;
/** Secrets' metadata limit (Secrets refuses larger metadata the same way). */
export const MAX_METADATA_BYTES = 4096;

export interface BundleHeader {
  format: typeof BUNDLE_FORMAT;
  version: number;
  createdAt?: string;
  /** Fingerprint of the exporting store's primary master key (a public id). */
  sourceFingerprint?: string;
  storeId?: string;
  /** The scopes the bundle holds. */
  scopes?: string[];
  counts?: { secrets: number; fields?: number };
  /** Version 2: the registered fields whose values follow, and how many of each. */
  fields?: BundleField[];
}

export interface BundleField {
  table: string;
  column: string;
  primaryKey: string[];
  values: number;
}

export interface BundleRecord {
  scope: string;
  name: string;
  /** A string for text secrets ("value"), bytes for binary ones ("valueBase64"). */
  value: string | Buffer;
  metadata: Record<string, unknown> | null;
  /** The secret's version in the source store (informational; the target assigns its own). */
  version?: number;
  /** When the source last changed the secret; used to detect conflicts on import. */
  updatedAt?: string;
}

export interface BundleTrailer {
  end: true;
  records: number;
}

/** The JSON object of a record line (text values as "value", bytes as "valueBase64"). */
export function encodeBundleRecord(record: BundleRecord): object {
  const { scope, name, value, metadata, version, updatedAt } = record;
  return typeof value === 'string'
    ? { scope, name, value, metadata, version, updatedAt }
    : { scope, name, valueBase64: value.toString('base64'), metadata, version, updatedAt };
}

export function encodeBundleTrailer(records: number): BundleTrailer {
  return { end: true, records };
}

/**
 * Validates a header line. Throws BUNDLE_MALFORMED when it is not a Lockbox
 * bundle header and BUNDLE_VERSION_UNSUPPORTED when its version is newer than 1.
 */
export function parseBundleHeader(object: Record<string, unknown>, line: number): BundleHeader {
  const version = checkArchiveVersion(object, line, BUNDLE_KIND);
  checkFields(
    object,
    line,
    'the header',
    ['format', 'version'],
    version >= 2
      ? ['createdAt', 'sourceFingerprint', 'storeId', 'scopes', 'counts', 'fields']
      : ['createdAt', 'sourceFingerprint', 'storeId', 'scopes', 'counts'],
  );
  const header: BundleHeader = { format: BUNDLE_FORMAT, version };
  const createdAt = optionalTimestamp(object, 'createdAt', line);
  if (createdAt !== undefined) header.createdAt = createdAt;
  const fingerprint = optionalString(object, 'sourceFingerprint', line);
  if (fingerprint !== undefined) header.sourceFingerprint = fingerprint;
  const storeId = optionalString(object, 'storeId', line);
  if (storeId !== undefined) header.storeId = storeId;
  if (object.scopes !== undefined) {
    if (!Array.isArray(object.scopes) || !object.scopes.every((s) => typeof s === 'string')) {
      throw malformed(line, '"scopes" must be an array of strings');
    }
    header.scopes = object.scopes as string[];
  }
  if (object.counts !== undefined) {
    const counts = object.counts;
    if (typeof counts !== 'object' || counts === null || Array.isArray(counts)) {
      throw malformed(line, '"counts" must be an object');
    }
    const record = counts as Record<string, unknown>;
    checkFields(record, line, '"counts"', ['secrets'], version >= 2 ? ['fields'] : []);
    header.counts = { secrets: requireCount(record, 'secrets', line) };
    if (record.fields !== undefined) header.counts.fields = requireCount(record, 'fields', line);
  }
  if (object.fields !== undefined) header.fields = parseHeaderFields(object.fields, line);
  return header;
}

/** The header's `fields` list: each field once, with its key columns and value count. */
function parseHeaderFields(value: unknown, line: number): BundleField[] {
  if (!Array.isArray(value)) throw malformed(line, '"fields" must be an array');
  const seen = new Set<string>();
  return value.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw malformed(line, 'each entry of "fields" must be an object');
    }
    const object = entry as Record<string, unknown>;
    checkFields(object, line, 'an entry of "fields"', ['table', 'column', 'primaryKey', 'values']);
    let field: BundleField;
    try {
      field = {
        table: validateIdentifier('table', object.table),
        column: validateIdentifier('column', object.column),
        primaryKey: keyColumnsOf(
          Array.isArray(object.primaryKey) ? (object.primaryKey as string[]) : [],
        ),
        values: requireCount(object, 'values', line),
      };
    } catch (err) {
      if (err instanceof LockboxError && err.code === 'FIELD_INVALID') {
        throw malformed(line, `an entry of "fields": ${err.message}`);
      }
      throw err;
    }
    const name = `${field.table}.${field.column}`;
    if (seen.has(name)) throw malformed(line, `"fields" lists ${name} twice`);
    seen.add(name);
    return field;
  });
}

function recordError(err: unknown, line: number): unknown {
  if (
    err instanceof LockboxError &&
    (err.code === 'SCOPE_INVALID' || err.code === 'NAME_INVALID')
  ) {
    return new LockboxError('BUNDLE_MALFORMED', `line ${line}: ${err.message}`, {
      details: { ...err.details, line, reason: err.code },
    });
  }
  return err;
}

/**
 * Validates a record line. Throws BUNDLE_MALFORMED for missing, unknown or
 * ill-typed fields and for invalid scopes or names (including reserved
 * `lockbox:` scopes), and VALUE_TOO_LARGE for a value over `maxValueBytes`.
 */
export function parseBundleRecord(
  object: Record<string, unknown>,
  line: number,
  maxValueBytes: number,
): BundleRecord {
  checkFields(
    object,
    line,
    'a record',
    ['scope', 'name'],
    ['value', 'valueBase64', 'metadata', 'version', 'updatedAt'],
  );
  const scope = requireString(object, 'scope', line);
  const name = requireString(object, 'name', line);
  try {
    validateUserScope(scope);
    validateName(name);
  } catch (err) {
    throw recordError(err, line);
  }
  const value = readRecordValue(object, line, maxValueBytes, {
    record: `record "${scope}/${name}"`,
    value: `the value of "${scope}/${name}"`,
    details: { scope, name },
  });
  let metadata: Record<string, unknown> | null = null;
  if (object.metadata !== undefined && object.metadata !== null) {
    if (typeof object.metadata !== 'object' || Array.isArray(object.metadata)) {
      throw malformed(line, `"metadata" of "${scope}/${name}" must be an object or null`);
    }
    metadata = validateMetadata(object.metadata);
    if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
      throw new LockboxError(
        'VALUE_TOO_LARGE',
        `line ${line}: the metadata of "${scope}/${name}" is larger than ${MAX_METADATA_BYTES} bytes`,
        { details: { line, scope, name, limit: MAX_METADATA_BYTES } },
      );
    }
  }
  const record: BundleRecord = { scope, name, value, metadata };
  if (object.version !== undefined && object.version !== null) {
    const version = object.version;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
      throw malformed(line, `"version" of "${scope}/${name}" must be a positive integer`);
    }
    record.version = version;
  }
  const updatedAt = optionalTimestamp(object, 'updatedAt', line);
  if (updatedAt !== undefined) record.updatedAt = updatedAt;
  return record;
}

/** True for a trailer line ({"end":true,...}); validates it. */
export function parseBundleTrailer(
  object: Record<string, unknown>,
  line: number,
): BundleTrailer | undefined {
  if (!('end' in object)) return undefined;
  checkFields(object, line, 'the trailer', ['end', 'records']);
  if (object.end !== true) throw malformed(line, 'the trailer\'s "end" must be true');
  return { end: true, records: requireCount(object, 'records', line) };
}
