/**
 * Master keys as operators write them: 32 bytes in hex, base64 or base64url.
 *
 * Errors say what was wrong (the encoding, or how many bytes it decoded to) and
 * never include the value itself.
 */
import { randomBytes } from 'node:crypto';
import { LockboxError } from '../errors.js';

export const MASTER_KEY_BYTES = 32;

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

function decode(text: string): { bytes: Buffer; encoding: string } {
  if (HEX.test(text) && text.length === MASTER_KEY_BYTES * 2) {
    return { bytes: Buffer.from(text, 'hex'), encoding: 'hex' };
  }
  const unpadded = text.replace(/=+$/, '');
  const canonical = (bytes: Buffer, alphabet: 'base64' | 'base64url') =>
    bytes.toString(alphabet).replace(/=+$/, '') === unpadded;
  if (BASE64.test(text) && unpadded.length % 4 !== 1) {
    const bytes = Buffer.from(text, 'base64');
    if (canonical(bytes, 'base64')) return { bytes, encoding: 'base64' };
  }
  if (BASE64URL.test(text) && unpadded.length % 4 !== 1) {
    const bytes = Buffer.from(text, 'base64url');
    if (canonical(bytes, 'base64url')) return { bytes, encoding: 'base64url' };
  }
  if (HEX.test(text)) {
    return {
      bytes: Buffer.from(text.length % 2 === 0 ? text : `${text}0`, 'hex'),
      encoding: 'hex',
    };
  }
  throw new LockboxError(
    'KEY_INVALID_ENCODING',
    `key is not valid hex, base64 or base64url (${text.length} characters)`,
  );
}

/**
 * Parses a 32-byte key. Surrounding whitespace (a trailing newline in a file or
 * an environment variable) is ignored; anything else must be exact.
 */
export function parseMasterKey(input: string, what = 'master key'): Buffer {
  const text = input.trim();
  if (text.length === 0) throw new LockboxError('KEY_INVALID_ENCODING', `${what} is empty`);
  const { bytes, encoding } = decode(text);
  if (
    bytes.length !== MASTER_KEY_BYTES ||
    (encoding === 'hex' && text.length !== MASTER_KEY_BYTES * 2)
  ) {
    const length = encoding === 'hex' ? text.length / 2 : bytes.length;
    bytes.fill(0);
    throw new LockboxError(
      'KEY_INVALID_LENGTH',
      `${what} decodes (as ${encoding}) to ${length} bytes; it must be exactly ${MASTER_KEY_BYTES}`,
    );
  }
  return bytes;
}

export function generateMasterKey(): Buffer {
  return randomBytes(MASTER_KEY_BYTES);
}

/** The canonical text form Lockbox writes: standard base64 with padding. */
export function formatMasterKey(key: Uint8Array): string {
  return Buffer.from(key).toString('base64');
}
