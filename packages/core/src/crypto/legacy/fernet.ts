/**
 * Fernet tokens, read exactly as Python's `cryptography` writes them, so an
 * application can adopt values it encrypted before Lockbox.
 *
 *   key   = urlsafe-base64(signing_key (16) ‖ encryption_key (16))
 *   token = urlsafe-base64(0x80 ‖ timestamp (8, big-endian seconds) ‖ iv (16) ‖
 *                          AES-128-CBC-PKCS7(encryption_key, iv, plaintext) ‖ hmac (32))
 *   hmac  = HMAC-SHA256(signing_key, every byte before it)
 *
 * Contracts: the MAC is checked (in constant time) before anything is decrypted,
 * so there is no padding oracle; `LEGACY_MALFORMED` means the token cannot be a
 * Fernet token at all (encoding, length, version) and is decided without the key;
 * `LEGACY_DECRYPT_FAILED` means it is shaped right but does not authenticate
 * under this key, its padding is bad after a valid MAC, or its timestamp fails the
 * optional TTL check. Messages never contain the key, the token or the plaintext.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { LockboxError } from '../../errors.js';
import { constantTimeEqual } from '../constant-time.js';
import { decodeUrlsafeBase64, encodePaddedUrlsafeBase64 } from './urlsafe-base64.js';

export const FERNET_VERSION = 0x80;
/** The spec's tolerance for tokens stamped in the future, in seconds. */
export const FERNET_MAX_CLOCK_SKEW_SECONDS = 60;
const KEY_BYTES = 32;
const HALF_KEY_BYTES = 16;
const TIMESTAMP_OFFSET = 1;
const IV_OFFSET = 9;
const IV_BYTES = 16;
const CIPHERTEXT_OFFSET = IV_OFFSET + IV_BYTES;
const BLOCK_BYTES = 16;
const MAC_BYTES = 32;
/** version ‖ timestamp ‖ iv ‖ one cipher block ‖ hmac: PKCS7 always adds at least one block. */
export const FERNET_MIN_BYTES = CIPHERTEXT_OFFSET + BLOCK_BYTES + MAC_BYTES;

/** A parsed Fernet key; the halves live only inside KeyObjects. */
export interface FernetKey {
  readonly signingKey: KeyObject;
  readonly encryptionKey: KeyObject;
}

export interface FernetDecryptOptions {
  /**
   * Maximum token age. When set, a token older than this, or stamped more than
   * 60 s in the future, is refused (as Python's `Fernet.decrypt(token, ttl)`
   * does). When unset, the timestamp is not checked, as in Python.
   */
  readonly ttlSeconds?: number;
  /** The current time for the TTL check; defaults to the system clock. */
  readonly now?: Date;
}

export interface FernetEncryptOptions {
  /** The timestamp to write (truncated to whole seconds); defaults to the system clock. */
  readonly now?: Date;
  /** A fixed 16-byte IV, for spec vectors and reproducible fixtures only. */
  readonly iv?: Uint8Array;
}

/** True when `length` decoded bytes could be a Fernet token: header, whole blocks, MAC. */
export function isFernetLength(length: number): boolean {
  return length >= FERNET_MIN_BYTES && (length - CIPHERTEXT_OFFSET - MAC_BYTES) % BLOCK_BYTES === 0;
}

/**
 * Parses a Fernet key (URL-safe base64 of 32 bytes, padded or not; surrounding
 * whitespace ignored). Throws `KEY_INVALID_ENCODING` or `KEY_INVALID_LENGTH`.
 */
export function parseFernetKey(text: string): FernetKey {
  const trimmed = text.trim();
  const bytes = trimmed.length === 0 ? undefined : decodeUrlsafeBase64(trimmed);
  if (bytes === undefined) {
    throw new LockboxError(
      'KEY_INVALID_ENCODING',
      `Fernet key is not valid URL-safe base64 (${trimmed.length} characters)`,
    );
  }
  try {
    if (bytes.length !== KEY_BYTES) {
      throw new LockboxError(
        'KEY_INVALID_LENGTH',
        `Fernet key decodes to ${bytes.length} bytes; it must be exactly ${KEY_BYTES}`,
      );
    }
    return {
      signingKey: createSecretKey(bytes.subarray(0, HALF_KEY_BYTES)),
      encryptionKey: createSecretKey(bytes.subarray(HALF_KEY_BYTES)),
    };
  } finally {
    bytes.fill(0);
  }
}

function checkTimestamp(token: Buffer, options: FernetDecryptOptions): void {
  const ttl = options.ttlSeconds;
  if (ttl === undefined) return;
  if (!Number.isFinite(ttl) || ttl < 0) {
    throw new LockboxError('INVALID_ARGUMENT', 'ttlSeconds must be a non-negative number');
  }
  // Above 2^53 the conversion rounds, but such a timestamp is far in the future either way.
  const stamped = Number(token.readBigUInt64BE(TIMESTAMP_OFFSET));
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (stamped + ttl < now) {
    throw new LockboxError('LEGACY_DECRYPT_FAILED', `Fernet token expired (older than ${ttl} s)`);
  }
  if (now + FERNET_MAX_CLOCK_SKEW_SECONDS < stamped) {
    throw new LockboxError(
      'LEGACY_DECRYPT_FAILED',
      `Fernet token is stamped in the future (more than ${FERNET_MAX_CLOCK_SKEW_SECONDS} s ahead)`,
    );
  }
}

/**
 * Decrypts a Fernet token and returns the plaintext. Throws `LEGACY_MALFORMED`
 * or `LEGACY_DECRYPT_FAILED` (see the module contract); never returns
 * unauthenticated bytes.
 */
export function decryptFernet(
  key: FernetKey,
  token: string,
  options: FernetDecryptOptions = {},
): Buffer {
  const data = decodeUrlsafeBase64(token);
  if (data === undefined || data.length === 0) {
    throw new LockboxError('LEGACY_MALFORMED', 'Fernet token is not valid URL-safe base64');
  }
  if (data[0] !== FERNET_VERSION) {
    throw new LockboxError('LEGACY_MALFORMED', 'Fernet token has an unknown version byte');
  }
  if (!isFernetLength(data.length)) {
    throw new LockboxError(
      'LEGACY_MALFORMED',
      `Fernet token has an impossible length (${data.length} bytes)`,
    );
  }
  const macOffset = data.length - MAC_BYTES;
  const expected = createHmac('sha256', key.signingKey)
    .update(data.subarray(0, macOffset))
    .digest();
  if (!constantTimeEqual(expected, data.subarray(macOffset))) {
    throw new LockboxError(
      'LEGACY_DECRYPT_FAILED',
      'Fernet token does not authenticate under this key',
    );
  }
  // The timestamp is checked only once the MAC has proven it authentic.
  checkTimestamp(data, options);
  const decipher = createDecipheriv(
    'aes-128-cbc',
    key.encryptionKey,
    data.subarray(IV_OFFSET, CIPHERTEXT_OFFSET),
  );
  const body = decipher.update(data.subarray(CIPHERTEXT_OFFSET, macOffset));
  try {
    const final = decipher.final();
    return final.length === 0 ? body : Buffer.concat([body, final]);
  } catch {
    body.fill(0);
    throw new LockboxError('LEGACY_DECRYPT_FAILED', 'Fernet token has bad padding');
  }
}

/**
 * Writes a Fernet token (padded URL-safe base64, as Python does). Lockbox never
 * stores Fernet; this exists for tests, adoption fixtures and benchmarks.
 */
export function encryptFernet(
  key: FernetKey,
  plaintext: Uint8Array,
  options: FernetEncryptOptions = {},
): string {
  const iv = options.iv ?? randomBytes(IV_BYTES);
  if (iv.length !== IV_BYTES)
    throw new LockboxError('INVALID_ARGUMENT', `a Fernet IV is ${IV_BYTES} bytes`);
  const seconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (seconds < 0)
    throw new LockboxError('INVALID_ARGUMENT', 'a Fernet timestamp cannot be before 1970');
  const cipher = createCipheriv('aes-128-cbc', key.encryptionKey, iv);
  const header = Buffer.alloc(CIPHERTEXT_OFFSET);
  header[0] = FERNET_VERSION;
  header.writeBigUInt64BE(BigInt(seconds), TIMESTAMP_OFFSET);
  header.set(iv, IV_OFFSET);
  const signed = Buffer.concat([header, cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', key.signingKey).update(signed).digest();
  return encodePaddedUrlsafeBase64(Buffer.concat([signed, mac]));
}
