/**
 * The text envelope shared by Lockbox ciphertexts and wrapped data keys
 * (normative description: docs/format.md).
 *
 *   text    = TAG ‖ base64url-nopad(payload)
 *   payload = key_id (8) ‖ nonce (12) ‖ ciphertext (n) ‖ gcm_tag (16)
 *   aad     = ascii(TAG) ‖ key_id ‖ context
 *
 * TAG names the format and its version ("lb1:" for data, "lbk1:" for wrapped
 * keys); unknown tags are refused, never guessed. The key id says which key opens
 * the envelope, so a reader never tries keys in turn. Header and context are both
 * authenticated, so a changed key id or an envelope moved to another row fails.
 */

import { LockboxError } from '../errors.js';
import type { AeadKey } from './aead.js';
import { open, sealInto, TAG_BYTES } from './aead.js';
import { KEY_ID_BYTES } from './fingerprint.js';
import { NONCE_BYTES, nextNonce } from './nonce-pool.js';

export const HEADER_BYTES = KEY_ID_BYTES + NONCE_BYTES;
export const OVERHEAD_BYTES = HEADER_BYTES + TAG_BYTES;

export interface EnvelopeFormat {
  /** The text tag, e.g. "lb1:". */
  readonly tag: string;
  /** The error code for a malformed envelope of this format. */
  readonly malformed: 'CIPHERTEXT_MALFORMED' | 'WRAPPED_KEY_MALFORMED';
  /** Exact plaintext length when the format fixes it (wrapped keys: 32). */
  readonly plaintextBytes?: number;
}

export interface ParsedEnvelope {
  /** The id of the key that opens it, as 16 lowercase hex characters. */
  readonly keyId: string;
  /** key_id ‖ nonce ‖ ciphertext ‖ gcm_tag. */
  readonly payload: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Node ignores the unused low bits of a final partial group, so without this
 * check one payload has several text forms and a changed last character can
 * still decrypt. Requiring those bits to be zero keeps the text form canonical.
 */
function hasCanonicalTail(body: string): boolean {
  const rest = body.length % 4;
  if (rest === 0) return true;
  const last = BASE64URL_ALPHABET.indexOf(body.charAt(body.length - 1));
  return (last & (rest === 2 ? 0b1111 : 0b11)) === 0;
}

/**
 * aad = ascii(TAG) ‖ key_id ‖ context. `keyIdFirst` starts with the key id (the
 * id itself when sealing, the payload when opening), so opening needs no view of
 * it; the bytes are copied one by one because a loop over 12 bytes is cheaper
 * than the Buffer methods' dispatch on this per-call path.
 */
function aadFor(format: EnvelopeFormat, keyIdFirst: Uint8Array, context: Uint8Array): Buffer {
  const { tag } = format;
  const tagLength = tag.length;
  const aad = Buffer.allocUnsafe(tagLength + KEY_ID_BYTES + context.length);
  for (let i = 0; i < tagLength; i++) aad[i] = tag.charCodeAt(i);
  for (let i = 0; i < KEY_ID_BYTES; i++) aad[tagLength + i] = keyIdFirst[i]!;
  aad.set(context, tagLength + KEY_ID_BYTES);
  return aad;
}

export function sealEnvelope(
  format: EnvelopeFormat,
  keyId: Uint8Array,
  key: AeadKey,
  plaintext: Uint8Array,
  context: Uint8Array,
): string {
  if (keyId.length !== KEY_ID_BYTES) throw new LockboxError('INTERNAL', 'key id must be 8 bytes');
  const payload = Buffer.allocUnsafe(OVERHEAD_BYTES + plaintext.length);
  payload.set(keyId, 0);
  const nonce = nextNonce();
  payload.set(nonce, KEY_ID_BYTES);
  sealInto(key, nonce, plaintext, aadFor(format, keyId, context), payload, HEADER_BYTES);
  return format.tag + payload.toString('base64url');
}

/**
 * Parses an envelope without decrypting it. Throws `CIPHERTEXT_UNKNOWN_FORMAT`
 * when the tag is not this format's, and the format's malformed code for bad
 * base64url or a wrong length. Never echoes the input.
 */
export function parseEnvelope(format: EnvelopeFormat, text: string): ParsedEnvelope {
  if (!text.startsWith(format.tag)) {
    throw new LockboxError(
      'CIPHERTEXT_UNKNOWN_FORMAT',
      `expected a value starting with "${format.tag}"`,
    );
  }
  const body = text.slice(format.tag.length);
  if (!BASE64URL.test(body) || body.length % 4 === 1 || !hasCanonicalTail(body)) {
    throw new LockboxError(format.malformed, `${format.tag} value is not valid base64url`);
  }
  const payload = Buffer.from(body, 'base64url');
  const fixed = format.plaintextBytes;
  const badLength =
    fixed === undefined
      ? payload.length < OVERHEAD_BYTES
      : payload.length !== OVERHEAD_BYTES + fixed;
  if (badLength) {
    throw new LockboxError(
      format.malformed,
      `${format.tag} value has the wrong length (${payload.length} bytes)`,
    );
  }
  return { keyId: payload.toString('hex', 0, KEY_ID_BYTES), payload };
}

/** Decrypts a parsed envelope; `DECRYPT_FAILED` when the key or context is wrong or a byte changed. */
export function openEnvelope(
  format: EnvelopeFormat,
  parsed: ParsedEnvelope,
  key: AeadKey,
  context: Uint8Array,
): Buffer {
  const { payload } = parsed;
  const nonce = payload.subarray(KEY_ID_BYTES, HEADER_BYTES);
  return open(key, nonce, payload.subarray(HEADER_BYTES), aadFor(format, payload, context));
}
