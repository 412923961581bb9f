/**
 * The `v2:` legacy format: AES-256-GCM values some applications wrote before
 * adopting Lockbox.
 *
 *   text    = "v2:" ‖ urlsafe-base64(nonce (12) ‖ ciphertext (n) ‖ gcm_tag (16))
 *   aad     = empty (the format binds nothing; Lockbox re-encrypts with a context on adoption)
 *
 * The base64 may be padded or not. The key is the application's 32-byte key.
 * `LEGACY_MALFORMED` means the text cannot be a `v2:` value (prefix, encoding,
 * length); `LEGACY_DECRYPT_FAILED` means it does not authenticate under the key.
 */

import { isLockboxError, LockboxError } from '../../errors.js';
import { type AeadKey, open, sealInto, TAG_BYTES } from '../aead.js';
import { NONCE_BYTES, nextNonce } from '../nonce-pool.js';
import { decodeUrlsafeBase64 } from './urlsafe-base64.js';

export const V2_PREFIX = 'v2:';
const KEY_BYTES = 32;
const EMPTY_AAD = Buffer.alloc(0);

export interface V2EncryptOptions {
  /** A fixed 12-byte nonce, for reproducible fixtures only; never reuse one with a key. */
  readonly nonce?: Uint8Array;
}

function requireAes256(key: AeadKey): void {
  const length = key instanceof Uint8Array ? key.length : key.symmetricKeySize;
  if (length !== KEY_BYTES) {
    throw new LockboxError('KEY_INVALID_LENGTH', `a v2: key is ${KEY_BYTES} bytes, got ${length}`);
  }
}

/** Decrypts a `v2:` value and returns the plaintext; never returns unauthenticated bytes. */
export function decryptV2(key: AeadKey, text: string): Buffer {
  requireAes256(key);
  if (!text.startsWith(V2_PREFIX)) {
    throw new LockboxError('LEGACY_MALFORMED', `expected a value starting with "${V2_PREFIX}"`);
  }
  const payload = decodeUrlsafeBase64(text.slice(V2_PREFIX.length));
  if (payload === undefined) {
    throw new LockboxError('LEGACY_MALFORMED', 'v2: value is not valid URL-safe base64');
  }
  if (payload.length < NONCE_BYTES + TAG_BYTES) {
    throw new LockboxError('LEGACY_MALFORMED', `v2: value is too short (${payload.length} bytes)`);
  }
  try {
    return open(key, payload.subarray(0, NONCE_BYTES), payload.subarray(NONCE_BYTES), EMPTY_AAD);
  } catch (err) {
    if (isLockboxError(err, 'DECRYPT_FAILED')) {
      throw new LockboxError(
        'LEGACY_DECRYPT_FAILED',
        'v2: value does not authenticate under this key',
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

/**
 * Writes a `v2:` value (unpadded base64url). Lockbox never stores this format;
 * this exists for tests and adoption fixtures.
 */
export function encryptV2(
  key: AeadKey,
  plaintext: Uint8Array,
  options: V2EncryptOptions = {},
): string {
  requireAes256(key);
  const nonce = options.nonce ?? nextNonce();
  if (nonce.length !== NONCE_BYTES) {
    throw new LockboxError('INVALID_ARGUMENT', `a v2: nonce is ${NONCE_BYTES} bytes`);
  }
  const payload = Buffer.allocUnsafe(NONCE_BYTES + plaintext.length + TAG_BYTES);
  payload.set(nonce, 0);
  sealInto(key, nonce, plaintext, EMPTY_AAD, payload, NONCE_BYTES);
  return V2_PREFIX + payload.toString('base64url');
}
