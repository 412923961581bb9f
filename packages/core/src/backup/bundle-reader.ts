/**
 * Reading a bundle: decrypt (age), split into JSON lines, validate, in one
 * bounded-memory stream.
 *
 * Yields the header first, then each record. Everything it yields is
 * provisional until the generator returns normally: only then has age
 * authenticated the last chunk, the trailer (if any) and header counts (if any)
 * matched, and no (scope, name) appeared twice. Consumers that write must do so
 * in a transaction they commit only after that.
 *
 * Refusals, each with nothing yielded after it: BUNDLE_TOO_LARGE, BUNDLE_MALFORMED,
 * BUNDLE_VERSION_UNSUPPORTED, BUNDLE_DECRYPT_FAILED, BUNDLE_DUPLICATE_RECORD,
 * VALUE_TOO_LARGE, RECOVERY_IDENTITY_INVALID (a malformed identity).
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
  type BundleHeader,
  type BundleRecord,
  MAX_METADATA_BYTES,
  parseBundleHeader,
  parseBundleRecord,
  parseBundleTrailer,
} from './bundle-format.js';
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
  | { kind: 'record'; record: BundleRecord; line: number };

/** A line holds one value (base64 grows it by a third) plus names, metadata and JSON escaping. */
function maxLineBytes(maxValueBytes: number): number {
  return maxValueBytes * 6 + MAX_METADATA_BYTES * 6 + 4096;
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
  let header: BundleHeader | undefined;
  let trailer: { records: number; line: number } | undefined;
  let records = 0;
  let lastLine = 0;
  for await (const { number, value } of readJsonLines(plaintext, maxLineBytes(maxValueBytes))) {
    lastLine = number;
    if (header === undefined) {
      header = parseBundleHeader(value, number);
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
  if (trailer !== undefined && trailer.records !== records) {
    throw malformed(
      trailer.line,
      `the trailer says ${trailer.records} records but the bundle holds ${records}`,
    );
  }
  if (header.counts !== undefined && header.counts.secrets !== records) {
    throw malformed(
      lastLine,
      `the header says ${header.counts.secrets} secrets but the bundle holds ${records}${trailer === undefined ? ' (truncated?)' : ''}`,
    );
  }
}
