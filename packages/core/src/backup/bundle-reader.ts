/**
 * Reading a bundle: decrypt (age), split into JSON lines, validate, in one
 * bounded-memory stream.
 *
 * Yields the header first, then each record: secrets and (version 2) field
 * values, in bundle order. Everything it yields is provisional until the
 * generator returns normally: only then has age authenticated the last chunk,
 * the trailer (if any) and header counts and field list (if any) matched, and no
 * (scope, name) nor (table, column, row key) appeared twice. Consumers that
 * write must do so in a transaction they commit only after that.
 *
 * Refusals, each with nothing yielded after it: BUNDLE_TOO_LARGE, BUNDLE_MALFORMED,
 * BUNDLE_VERSION_UNSUPPORTED, BUNDLE_RECORD_UNSUPPORTED, BUNDLE_DECRYPT_FAILED,
 * BUNDLE_DUPLICATE_RECORD, VALUE_TOO_LARGE, TEXT_INVALID,
 * RECOVERY_IDENTITY_INVALID (a malformed identity).
 */
import { LockboxError } from '../errors.js';
import { DEFAULT_MAX_VALUE_BYTES } from '../vault/secrets.js';
import {
  type AgeDecryption,
  type ByteSource,
  byteLimit,
  decryptStream,
  peekBytes,
  refuseArmor,
  toReadableStream,
} from './age-stream.js';
import {
  type BundleField,
  type BundleHeader,
  type BundleRecord,
  MAX_METADATA_BYTES,
  parseBundleHeader,
  parseBundleRecord,
  parseBundleTrailer,
} from './bundle-format.js';
import {
  type FieldValueRecord,
  MAX_ROW_KEY_BYTES,
  parseFieldRecord,
  requireKnownKind,
} from './field-record.js';
import { malformed, readJsonLines } from './json-lines.js';
import { RecordKeySet } from './record-key-set.js';

/** Default limit on a bundle's encrypted size. */
export const DEFAULT_MAX_BUNDLE_BYTES = 512 * 1024 * 1024;

export interface ReadBundleOptions {
  decryption: AgeDecryption;
  /** Refuse files larger than this (BUNDLE_TOO_LARGE); default 512 MiB. */
  maxBytes?: number;
  /** Refuse values larger than this (VALUE_TOO_LARGE); default Secrets' 64 KiB. */
  maxValueBytes?: number;
  /** Called with the encrypted bytes read so far. */
  onBytes?: (bytes: number) => void;
}

export type BundleItem =
  | { kind: 'header'; header: BundleHeader }
  | { kind: 'record'; record: BundleRecord; line: number }
  | { kind: 'field'; record: FieldValueRecord; line: number };

/** A line holds one value (base64 grows it by a third) plus names, metadata or a row key, and JSON escaping. */
function maxLineBytes(maxValueBytes: number): number {
  return maxValueBytes * 6 + Math.max(MAX_METADATA_BYTES, MAX_ROW_KEY_BYTES) * 6 + 4096;
}

/** The header's field list, checked against the records as they come (version 2). */
class DeclaredFields {
  readonly #fields: Map<string, BundleField & { seen: number }> | undefined;

  constructor(fields: readonly BundleField[] | undefined) {
    this.#fields =
      fields === undefined
        ? undefined
        : new Map(fields.map((f) => [`${f.table}.${f.column}`, { ...f, seen: 0 }]));
  }

  /** A record of a field the header does not list, or with other key columns, is malformed. */
  check(record: FieldValueRecord, line: number): void {
    if (this.#fields === undefined) return;
    const name = `${record.table}.${record.column}`;
    const field = this.#fields.get(name);
    if (field === undefined) {
      throw malformed(line, `a value of ${name}, which the header's "fields" does not list`);
    }
    const columns = [...record.keyColumns].sort().join(',');
    if (columns !== [...field.primaryKey].sort().join(',')) {
      throw malformed(
        line,
        `a value of ${name} keyed by (${record.keyColumns.join(', ')}); the header says (${field.primaryKey.join(', ')})`,
      );
    }
    field.seen += 1;
  }

  /** Every listed field's count matches its records. */
  finish(line: number): void {
    for (const field of this.#fields?.values() ?? []) {
      if (field.seen !== field.values) {
        throw malformed(
          line,
          `the header says ${field.values} values of ${field.table}.${field.column} but the bundle holds ${field.seen} (truncated?)`,
        );
      }
    }
  }
}

/** A field value's record key: its field and its row key, key columns in name order. */
function fieldRecordKey(record: FieldValueRecord): string[] {
  const pairs = record.keyColumns.map((c, i) => [c, record.keyValues[i] as string] as const);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return [record.table, record.column, ...pairs.flat()];
}

export async function* readBundle(
  source: ByteSource,
  options: ReadBundleOptions,
): AsyncGenerator<BundleItem> {
  const maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  const limited = toReadableStream(source).pipeThrough(
    byteLimit(options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES, options.onBytes),
  );
  const { head, stream } = await peekBytes(limited, 64);
  refuseArmor(head);
  const plaintext = await decryptStream(stream, options.decryption);
  const seen = new RecordKeySet();
  const seenFields = new RecordKeySet();
  let declared = new DeclaredFields(undefined);
  let header: BundleHeader | undefined;
  let trailer: { records: number; line: number } | undefined;
  let records = 0;
  let fieldValues = 0;
  let lastLine = 0;
  for await (const { number, value } of readJsonLines(plaintext, maxLineBytes(maxValueBytes))) {
    lastLine = number;
    if (header === undefined) {
      header = parseBundleHeader(value, number);
      declared = new DeclaredFields(header.fields);
      yield { kind: 'header', header };
      continue;
    }
    if (trailer !== undefined) {
      throw malformed(number, 'content after the trailer line');
    }
    const end = parseBundleTrailer(value, number);
    if (end !== undefined) {
      trailer = { records: end.records, line: number };
      continue;
    }
    // Version 1 has no kinds: its record parser refuses a "kind" as an unknown field.
    if (header.version >= 2 && 'kind' in value) {
      requireKnownKind(value.kind, number);
      const field = parseFieldRecord(value, number, maxValueBytes);
      declared.check(field, number);
      if (!seenFields.add(...fieldRecordKey(field))) {
        throw new LockboxError(
          'BUNDLE_DUPLICATE_RECORD',
          `line ${number}: a value of ${field.table}.${field.column} for the same row appears earlier in the bundle too`,
          { details: { line: number, table: field.table, column: field.column } },
        );
      }
      fieldValues += 1;
      yield { kind: 'field', record: field, line: number };
      continue;
    }
    const record = parseBundleRecord(value, number, maxValueBytes);
    if (!seen.add(record.scope, record.name)) {
      throw new LockboxError(
        'BUNDLE_DUPLICATE_RECORD',
        `line ${number}: "${record.scope}/${record.name}" appears earlier in the bundle too`,
        { details: { line: number, scope: record.scope, name: record.name } },
      );
    }
    records += 1;
    yield { kind: 'record', record, line: number };
  }
  if (header === undefined) throw malformed(1, 'the bundle is empty (no header line)');
  if (trailer !== undefined && trailer.records !== records + fieldValues) {
    throw malformed(
      trailer.line,
      `the trailer says ${trailer.records} records but the bundle holds ${records + fieldValues}`,
    );
  }
  if (header.counts?.fields !== undefined && header.counts.fields !== fieldValues) {
    throw malformed(
      lastLine,
      `the header says ${header.counts.fields} field values but the bundle holds ${fieldValues}${trailer === undefined ? ' (truncated?)' : ''}`,
    );
  }
  declared.finish(lastLine);
  if (header.counts !== undefined && header.counts.secrets !== records) {
    throw malformed(
      lastLine,
      `the header says ${header.counts.secrets} secrets but the bundle holds ${records}${trailer === undefined ? ' (truncated?)' : ''}`,
    );
  }
}
