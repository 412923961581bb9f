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

export function encodeContext(parts: readonly string[]): Buffer {
  const encoded = parts.map((part) => {
    // UTF-8 encodes every lone surrogate as U+FFFD, so two different parts would
    // encode alike; refusing them keeps the encoding unambiguous.
    if (LONE_SURROGATE.test(part)) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        'a context part is not well-formed Unicode (lone surrogate)',
      );
    }
    return Buffer.from(part, 'utf8');
  });
  let length = 0;
  for (const part of encoded) length += 4 + part.length;
  const out = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const part of encoded) {
    offset = out.writeUInt32BE(part.length, offset);
    offset += part.copy(out, offset);
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

/** A field value is bound to its table, column and row id. */
export function fieldContext(table: string, column: string, rowId: string): Buffer {
  return encodeContext(['field', table, column, rowId]);
}

/** A wrapped data key is bound to its scope and its own id. */
export function dataKeyContext(scope: string, dataKeyId: string): Buffer {
  return encodeContext(['data-key', scope, dataKeyId]);
}
