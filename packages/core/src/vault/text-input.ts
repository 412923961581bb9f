/**
 * Text that enters Lockbox is stored exactly as given, or refused: never
 * "repaired".
 *
 * A JavaScript string can hold a lone surrogate (from a JSON escape like
 * "\ud800", or a careless client), and bytes that are not UTF-8 decode to
 * U+FFFD unless the decoder is strict. Either way, encoding the string for
 * storage would silently turn it into U+FFFD: a credential altered without a
 * word. So every string a caller hands Lockbox (values, metadata) is checked
 * here, and byte-to-text decoding at the boundaries (HTTP bodies, bundles, CLI
 * input) is strict.
 *
 * Metadata is also bounded in depth: deeply nested JSON overflows the stack of
 * every recursive walk (JSON.stringify, validators), which used to be a 500.
 */
import { LockboxError } from '../errors.js';

/** Nesting levels of objects and arrays metadata may have (the object itself is 1). */
export const MAX_METADATA_DEPTH = 16;

/** Strict UTF-8: throws on invalid bytes instead of substituting U+FFFD. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function invalidText(what: string, why: string): LockboxError {
  return new LockboxError('TEXT_INVALID', `${what} ${why}; nothing was stored`, {
    details: { what },
  });
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** String.prototype.isWellFormed (ES2024), which the compile target does not declare. */
export function isWellFormedText(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

/** Throws TEXT_INVALID when `value` holds a lone surrogate (it has no UTF-8 form). */
export function assertWellFormed(what: string, value: string): string {
  if (!isWellFormedText(value)) {
    throw invalidText(what, 'contains a lone surrogate (not valid Unicode)');
  }
  return value;
}

/** Decodes UTF-8 strictly; throws TEXT_INVALID naming `what` for invalid bytes. */
export function decodeUtf8Strict(what: string, bytes: Uint8Array): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    throw invalidText(what, 'is not valid UTF-8');
  }
}

/**
 * Checks metadata without recursion: a plain JSON object at most
 * MAX_METADATA_DEPTH levels deep, whose keys and strings are well-formed.
 * Throws METADATA_INVALID (shape, depth) or TEXT_INVALID (a lone surrogate).
 */
export function validateMetadata(metadata: unknown): Record<string, unknown> {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new LockboxError('METADATA_INVALID', 'metadata must be a JSON object');
  }
  const pending: { value: unknown; depth: number }[] = [{ value: metadata, depth: 1 }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { value, depth } = item;
    if (typeof value === 'string') {
      assertWellFormed('a metadata string', value);
      continue;
    }
    if (value === null || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        throw new LockboxError('METADATA_INVALID', 'metadata numbers must be finite');
      }
      continue;
    }
    if (typeof value !== 'object') {
      throw new LockboxError('METADATA_INVALID', `metadata cannot hold a ${typeof value}`);
    }
    if (depth > MAX_METADATA_DEPTH) {
      throw new LockboxError(
        'METADATA_INVALID',
        `metadata is nested more than ${MAX_METADATA_DEPTH} levels deep`,
        { details: { limit: MAX_METADATA_DEPTH } },
      );
    }
    const prototype = Object.getPrototypeOf(value);
    if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) {
      throw new LockboxError('METADATA_INVALID', 'metadata may hold only JSON values');
    }
    for (const [key, child] of Object.entries(value)) {
      assertWellFormed('a metadata key', key);
      pending.push({ value: child, depth: depth + 1 });
    }
  }
  return metadata as Record<string, unknown>;
}
