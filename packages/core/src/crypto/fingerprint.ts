/**
 * Key fingerprints: short public ids that prove possession of a key without
 * revealing it.
 *
 * fingerprint = HKDF-SHA256(ikm = key, salt = "", info = "lockbox/v1/key-fingerprint", L = 8)
 *
 * The domain-separated derivation means the fingerprint is useless for any other
 * purpose and says nothing about the key (it is never a bare hash of the key). The
 * 8 bytes double as the key id written into every wrapped data key; they are shown
 * as 16 lowercase hex characters.
 */
import { hkdfSha256 } from './hkdf.js';

export const KEY_ID_BYTES = 8;
const FINGERPRINT_INFO = Buffer.from('lockbox/v1/key-fingerprint');
const EMPTY = Buffer.alloc(0);

export function fingerprintBytes(key: Uint8Array): Buffer {
  return hkdfSha256(key, EMPTY, FINGERPRINT_INFO, KEY_ID_BYTES);
}

/** The 16-hex-character fingerprint of a key. */
export function fingerprint(key: Uint8Array): string {
  return fingerprintBytes(key).toString('hex');
}
