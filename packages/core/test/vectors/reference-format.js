/**
 * A second, independent implementation of docs/format.md for the vector
 * generator: node:crypto only, nothing imported from the library, so the vectors
 * check the library against the spec rather than against itself.
 */
import { createCipheriv, hkdfSync } from 'node:crypto';

export const CIPHERTEXT_TAG = 'lb1:';
/** Secret rows bound to their version and creation time (format 2). */
export const ROW_CIPHERTEXT_TAG = 'lb2:';
export const WRAPPED_KEY_TAG = 'lbk1:';
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Fixed, obviously-not-secret bytes counting up from `start`. */
export const counting = (start, length) =>
  Buffer.from(Array.from({ length }, (_, i) => (start + i) & 0xff));
export const MASTER_A = counting(0x00, 32);
export const MASTER_B = counting(0x20, 32);
export const DATA_KEY = counting(0x40, 32);
/** Chosen so that its base64 and base64url spellings differ ('+' and '/' against '-' and '_'). */
export const TEXT_KEY = counting(0xe0, 32);
/** Data-key ids are 8 random bytes assigned by the vault; this one is fixed. */
export const DATA_KEY_ID = Buffer.from('d47a6b3c5e0f1a29', 'hex');

export const hex = (bytes) => bytes.toString('hex');

/** Nonce number n: a fixed 8-byte prefix and n as 4 big-endian bytes; each case uses its own. */
export function nonceBytes(n) {
  const out = Buffer.from('10c6b0c50000000000000000', 'hex');
  out.writeUInt32BE(n, 8);
  return out;
}

/** Each part as a 4-byte big-endian byte length and its UTF-8 bytes. */
export function encodeContext(parts) {
  return Buffer.concat(
    parts.flatMap((part) => {
      const bytes = Buffer.from(part, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return [length, bytes];
    }),
  );
}

/** HKDF-SHA256(ikm = key, salt = empty, info = "lockbox/v1/key-fingerprint", L = 8). */
export function fingerprint(key) {
  const info = Buffer.from('lockbox/v1/key-fingerprint');
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 8));
}

/** TAG ‖ base64url(key_id ‖ nonce ‖ AES-256-GCM(key, nonce, plaintext, TAG ‖ key_id ‖ context)). */
export function seal(tag, keyId, key, nonce, plaintext, context) {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  cipher.setAAD(Buffer.concat([Buffer.from(tag, 'latin1'), keyId, context]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return tag + Buffer.concat([keyId, nonce, body, cipher.getAuthTag()]).toString('base64url');
}

export const payloadOf = (text, tag) => Buffer.from(text.slice(tag.length), 'base64url');
export const withPayload = (tag, payload) => tag + payload.toString('base64url');

/** The text with the lowest bit of one payload byte flipped (negative index: from the end). */
export function flipBit(text, tag, byteIndex) {
  const payload = payloadOf(text, tag);
  payload[byteIndex < 0 ? payload.length + byteIndex : byteIndex] ^= 0x01;
  return withPayload(tag, payload);
}

/** Sets the lowest unused bit of the last character (for texts not a multiple of 4 long). */
export function withDirtyTail(text) {
  const last = BASE64URL_ALPHABET.indexOf(text.charAt(text.length - 1));
  return text.slice(0, -1) + BASE64URL_ALPHABET.charAt(last | 1);
}
