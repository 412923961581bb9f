/**
 * Associated-data contexts: where a ciphertext lives, encoded unambiguously.
 *
 * Each part is written as a 4-byte big-endian byte length followed by its UTF-8
 * bytes, so ("ab", "c") and ("a", "bc") never encode alike. The first part is a
 * label saying what kind of thing is bound ("secret", "field", "data-key").
 * A part that is not well-formed Unicode is refused (`INVALID_ARGUMENT`).
 */
import { LockboxError } from '../errors.js';

/** In a /u regex, \p{Cs} matches only surrogates that are not part of a pair. */
const LONE_SURROGATE = /\p{Cs}/u;

/** The part's length when it is all ASCII (its UTF-8 bytes are its char codes), else -1. */
function asciiLength(part: string): number {
  for (let i = 0; i < part.length; i++) if (part.charCodeAt(i) > 0x7f) return -1;
  return part.length;
}

/**
 * Contexts are built on every encrypt and decrypt, and their parts (scopes, names,
 * labels) are nearly always ASCII; those are copied char by char, which is several
 * times cheaper than a Buffer per part (measured with bench/crypto.js). Other parts
 * go through the UTF-8 encoder.
 */
export function encodeContext(parts: readonly string[]): Buffer {
  let length = 0;
  for (const part of parts) {
    const ascii = asciiLength(part);
    if (ascii >= 0) {
      length += 4 + ascii;
      continue;
    }
    // UTF-8 encodes every lone surrogate as U+FFFD, so two different parts would
    // encode alike; refusing them keeps the encoding unambiguous.
    if (LONE_SURROGATE.test(part)) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        'a context part is not well-formed Unicode (lone surrogate)',
      );
    }
    length += 4 + Buffer.byteLength(part, 'utf8');
  }
  const out = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const part of parts) {
    const ascii = asciiLength(part);
    if (ascii < 0) {
      const written = out.write(part, offset + 4, 'utf8');
      offset = out.writeUInt32BE(written, offset) + written;
      continue;
    }
    offset = out.writeUInt32BE(ascii, offset);
    for (let i = 0; i < ascii; i++) out[offset + i] = part.charCodeAt(i);
    offset += ascii;
  }
  return out;
}

/**
 * A secret is bound to its scope, its name and its value type ("utf8" or
 * "bytes"), so it cannot be moved to another row or relabelled as the other type.
 */
export function secretContext(
  scope: string,
  name: string,
  valueType: 'utf8' | 'bytes' = 'utf8',
): Buffer {
  return encodeContext(['secret', scope, name, valueType]);
}

/**
 * An lb2: secret is bound, beyond its scope, name and value type, to the row's
 * version and creation time as stored: the version makes an older ciphertext put
 * back under a newer version fail, and the creation time does the same across a
 * delete and re-create (which starts the version at 1 again).
 */
export function secretRowContext(
  scope: string,
  name: string,
  valueType: 'utf8' | 'bytes',
  version: number,
  createdAt: string,
): Buffer {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new LockboxError('INTERNAL', 'a secret version is a positive integer');
  }
  return encodeContext(['secret', scope, name, valueType, String(version), createdAt]);
}

/**
 * A field value is bound to its table, its column and its row key: the key
 * columns' names and values (values as the database prints them as text).
 *
 * Two versions, chosen by the registration's shape (never tried in turn):
 *   v1, a one-column key:  "field", table, column, value
 *   v2, several columns:   "field-v2", table, column, then name, value per key column
 * v1 is the format of every field ciphertext written before composite keys, so a
 * one-column field keeps it and its existing ciphertexts stay readable; v2 names
 * each key column so that no two keys of a table (or of two registrations) encode
 * alike. `keyColumns` and `keyValues` have the same length (at least one).
 */
export function fieldContext(
  table: string,
  column: string,
  keyColumns: readonly string[],
  keyValues: readonly string[],
): Buffer {
  if (keyColumns.length !== keyValues.length || keyColumns.length === 0) {
    throw new LockboxError('INVALID_ARGUMENT', 'a field context needs one value per key column');
  }
  if (keyColumns.length === 1)
    return encodeContext(['field', table, column, keyValues[0] as string]);
  const parts = ['field-v2', table, column];
  for (const [i, name] of keyColumns.entries()) parts.push(name, keyValues[i] as string);
  return encodeContext(parts);
}

/** A wrapped data key is bound to its scope and its own id. */
export function dataKeyContext(scope: string, dataKeyId: string): Buffer {
  return encodeContext(['data-key', scope, dataKeyId]);
}
