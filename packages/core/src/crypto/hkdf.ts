/** HKDF-SHA256 (RFC 5869) and HMAC-SHA256 on node:crypto. */
import { createHmac, hkdfSync } from 'node:crypto';

export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}

export function hmacSha256(key: Uint8Array, message: Uint8Array): Buffer {
  return createHmac('sha256', key).update(message).digest();
}
