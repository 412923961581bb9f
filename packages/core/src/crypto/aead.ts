/**
 * AES-GCM on node:crypto, with associated data on every call.
 *
 * This is the only place that touches the cipher. Lockbox itself uses 32-byte
 * keys (AES-256-GCM); 16- and 24-byte keys are accepted here only so that the
 * Wycheproof vectors can exercise the same code path. Tags are always 16 bytes.
 */
import { type CipherGCMTypes, createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { LockboxError } from '../errors.js';

export const TAG_BYTES = 16;

export type AeadKey = Uint8Array | KeyObject;

/** Shared by every call: the options object is read, never kept or changed, by node:crypto. */
const GCM_OPTIONS = { authTagLength: TAG_BYTES } as const;

function algorithm(key: AeadKey): CipherGCMTypes {
  const length = key instanceof Uint8Array ? key.length : key.symmetricKeySize;
  switch (length) {
    case 32:
      return 'aes-256-gcm';
    case 16:
      return 'aes-128-gcm';
    case 24:
      return 'aes-192-gcm';
    default:
      throw new LockboxError(
        'KEY_INVALID_LENGTH',
        `AES-GCM key must be 16, 24 or 32 bytes, got ${length}`,
      );
  }
}

/**
 * Encrypts `plaintext` into `out` at `offset` as ciphertext ‖ tag and returns the
 * number of bytes written (plaintext.length + 16). Writing into a caller's buffer
 * lets the format layer build its whole encoding with one allocation.
 */
export function sealInto(
  key: AeadKey,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  out: Buffer,
  offset: number,
): number {
  const cipher = createCipheriv(algorithm(key), key, nonce, GCM_OPTIONS);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  body.copy(out, offset);
  // GCM is a stream mode: final() only computes the tag and returns no bytes.
  const final = cipher.final();
  if (final.length > 0) final.copy(out, offset + body.length);
  const written = body.length + final.length;
  cipher.getAuthTag().copy(out, offset + written);
  return written + TAG_BYTES;
}

/** Encrypts and returns ciphertext ‖ tag. */
export function seal(
  key: AeadKey,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Buffer {
  const out = Buffer.allocUnsafe(plaintext.length + TAG_BYTES);
  sealInto(key, nonce, plaintext, aad, out, 0);
  return out;
}

/**
 * Decrypts ciphertext ‖ tag. Throws `DECRYPT_FAILED` when authentication fails
 * (wrong key, wrong associated data, or any modified byte); never returns
 * unauthenticated plaintext.
 */
export function open(key: AeadKey, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  if (sealed.length < TAG_BYTES) {
    throw new LockboxError(
      'CIPHERTEXT_MALFORMED',
      'ciphertext is shorter than its authentication tag',
    );
  }
  const split = sealed.length - TAG_BYTES;
  const decipher = createDecipheriv(algorithm(key), key, nonce, GCM_OPTIONS);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(split));
  const body = decipher.update(sealed.subarray(0, split));
  try {
    const final = decipher.final();
    return final.length === 0 ? body : Buffer.concat([body, final]);
  } catch {
    body.fill(0);
    throw new LockboxError('DECRYPT_FAILED');
  }
}
