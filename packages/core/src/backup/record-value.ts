/**
 * A record's value, as secret and field value records both carry it: exactly one
 * of "value" (text, well-formed Unicode) and "valueBase64" (canonical base64),
 * at most `maxValueBytes` bytes.
 */
import { LockboxError } from '../errors.js';
import { isWellFormedText } from '../vault/text-input.js';
import { malformed, requireString } from './json-lines.js';

function decodeBase64(text: string, line: number): Buffer {
  const bytes = Buffer.from(text, 'base64');
  // Buffer.from skips characters outside the alphabet; a round trip proves the text was canonical.
  if (bytes.toString('base64') !== text) {
    throw malformed(line, '"valueBase64" is not canonical base64');
  }
  return bytes;
}

export interface RecordValueLabels {
  /** `record "prod/API_KEY"`, for "… needs exactly one of". */
  record: string;
  /** `the value of "prod/API_KEY"`, for "… contains a lone surrogate" and "… is larger than". */
  value: string;
  /** Non-secret facts for the error's details (scope and name, or table and column). */
  details: Record<string, unknown>;
}

/**
 * Throws BUNDLE_MALFORMED (neither or both, ill-typed, non-canonical base64),
 * TEXT_INVALID (a lone surrogate: importing it would store U+FFFD instead) and
 * VALUE_TOO_LARGE.
 */
export function readRecordValue(
  object: Record<string, unknown>,
  line: number,
  maxValueBytes: number,
  labels: RecordValueLabels,
): string | Buffer {
  const hasText = object.value !== undefined;
  const hasBytes = object.valueBase64 !== undefined;
  if (hasText === hasBytes) {
    throw malformed(line, `${labels.record} needs exactly one of "value" and "valueBase64"`);
  }
  const value = hasText
    ? requireString(object, 'value', line)
    : decodeBase64(requireString(object, 'valueBase64', line), line);
  if (typeof value === 'string' && !isWellFormedText(value)) {
    throw new LockboxError(
      'TEXT_INVALID',
      `line ${line}: ${labels.value} contains a lone surrogate (not valid Unicode); nothing was imported`,
      { details: { line, ...labels.details } },
    );
  }
  const size = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
  if (size > maxValueBytes) {
    throw new LockboxError(
      'VALUE_TOO_LARGE',
      `line ${line}: ${labels.value} is larger than ${maxValueBytes} bytes`,
      { details: { line, ...labels.details, limit: maxValueBytes } },
    );
  }
  return value;
}
